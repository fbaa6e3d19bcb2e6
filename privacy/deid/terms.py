"""Medical vocabulary that a general-purpose NER model mistakes for names and places.

Used as an allow-list: a name or place found only by the statistical NER model is dropped when every
word of it is one of these. Context-based detections ("Dr. Foley", "Name: Parkinson") are never dropped.
Hand-written, but for drugs: no offline, licence-compatible clinical lexicon ships with Presidio or spaCy;
``drug_words`` adds the ~26,000 one-word drug names that ``drug-named-entity-recognition`` ships.
"""

from __future__ import annotations

import bz2
import functools
import importlib.resources
import pickle

from wordfreq import zipf_frequency

# Eponyms: diseases, signs, scores, devices and manoeuvres named after people. Eponyms that are also
# common surnames (Wilson, Bell, Murphy...) are left out: they are kept only when followed by an eponym
# word ("Wilson disease", "Bell's palsy"), see ``EPONYM_FOLLOWERS``.
EPONYMS = """
addison alzheimer apgar babinski barrett bence blalock brudzinski brugada buerger burkitt chagas
charcot cheyne chvostek conn cori creutzfeldt crohn cushing dandy doppler dressler
dubin duchenne dupuytren edinger ehlers epstein ewing fallot foley fontan friedreich gilbert glasgow goodpasture
graves guillain hashimoto heimlich henoch hirschsprung hodgkin holter horner huntington jakob kaposi
kawasaki kernig kussmaul kupffer lambert langerhans lewy lyme mallory mcburney meckel meniere
nissen osler paget pap parkinson perthes peyronie pott raynaud reiter reye rinne romberg rovsing schilling
sjogren sjögren stevens swan ganz takayasu tay sachs tinel phalen tourette trendelenburg virchow
von willebrand waldenstrom wegener wernicke korsakoff whipple wilms wolff zollinger
ellison marfan klinefelter noonan prader willi angelman hurler gaucher fabry niemann pick bartter gitelman
bowen whitney wilcoxon bristol braden ranson pugh meld
karnofsky ecog nyha killip timi chads vasc hasbled wells geneva curb centor alvarado ottawa hamilton
ishihara snellen tinetti weber schober spurling lachman mcmurray hawkins neer jobe finkelstein homan homans
adson kerley valsalva seldinger fleischner mobitz wenckebach barre hasson calot mallampati
swan-ganz cheyne-stokes guillain-barre guillain-barré creutzfeldt-jakob
""".split()

# Drugs (generic and common brand names) that NER models tag as people or places.
DRUGS = """
lasix coumadin warfarin tylenol motrin advil aleve ativan xanax valium haldol zyprexa seroquel risperdal abilify
lexapro zoloft prozac paxil celexa wellbutrin effexor cymbalta elavil neurontin lyrica keppra dilantin depakote
tegretol lamictal topamax synthroid levoxyl cytomel glucophage januvia lantus humalog novolog levemir tradjenta
jardiance farxiga invokana victoza ozempic trulicity byetta actos amaryl glucotrol lipitor zocor crestor pravachol
zetia plavix effient brilinta eliquis xarelto pradaxa lovenox heparin aspirin toprol lopressor coreg norvasc
cardizem procardia vasotec zestril prinivil altace cozaar diovan benicar micardis avapro aldactone hctz bumex
demadex lanoxin digoxin amiodarone cordarone multaq sotalol betapace flecainide imdur isordil nitro nitrostat
ranexa protonix nexium prilosec pepcid zantac carafate reglan zofran compazine phenergan colace senna senokot
dulcolax miralax lactulose imodium flagyl cipro levaquin bactrim keflex augmentin zithromax zpak biaxin doxy
vancomycin vanco zosyn unasyn rocephin cefepime meropenem ceftriaxone gentamicin tobramycin diflucan valtrex
acyclovir tamiflu prednisone medrol solumedrol decadron dexamethasone hydrocortisone albuterol proventil ventolin
atrovent spiriva advair symbicort flovent singulair combivent duoneb xopenex pulmicort claritin zyrtec allegra
benadryl flonase percocet vicodin norco oxycontin oxycodone dilaudid morphine fentanyl tramadol ultram toradol
narcan suboxone methadone flexeril robaxin ambien restoril trazodone desyrel remeron buspar klonopin lithium
aricept namenda sinemet requip mirapex flomax proscar avodart detrol ditropan viagra cialis fosamax boniva
premarin provera estrace plaquenil methotrexate humira enbrel remicade imuran cellcept prograf rapamune
neupogen epogen procrit aranesp coumadin kayexalate renvela phoslo sensipar zemplar calcitriol potassium
kcl magnesium lisinopril metoprolol atorvastatin simvastatin metformin insulin gabapentin levothyroxine
omeprazole pantoprazole furosemide amlodipine hydralazine clonidine labetalol carvedilol spironolactone
apixaban rivaroxaban clopidogrel enoxaparin ondansetron acetaminophen ibuprofen naproxen tamsulosin finasteride
""".split()

# Clinical words and abbreviations that NER models tag as people or places in note text.
CLINICAL_WORDS = """
patient pt pts hpi pmh psh ros cc exam plan assessment impression history allergies nkda nka meds vitals labs
neuro heent cv resp abd ext gu gi msk skin psych cxr ekg ecg echo mri ct cta pet ua ucx bcx cbc bmp cmp lfts inr
ptt tsh hba1c bnp trop troponin abg vbg iv po prn bid tid qid qhs qd qod sq sc im npo ns lr d5w iabp icu ccu micu
sicu ed er or pacu rn md np pa do dr mr mrs ms floor ward clinic hospital unit room bed follow followup f/u
afib chf cad copd dm htn hld ckd esrd aki uti dvt pe mi cva tia gerd osa bph sob doe cp n/v abx dx tx rx hx sx
s/p w/ w/o c/o r/o h/o y/o yo bp hr rr spo2 o2 temp wt ht bmi nad a&o aox3 perrla eomi rrr ctab nabs ntnd
cabg pci ptca stent cath tte tee eeg emg egd ercp colonoscopy lumbar thoracic cervical sacral lasix
right left bilateral anterior posterior superior inferior medial lateral proximal distal
normocephalic atraumatic anicteric nontender nondistended nontoxic afebrile prophy ppx dispo extr abd' neg pos
perrl eomi ncat rrr nabs ntnd ctab cta nl wnl nad aaox3 a&ox3 tachy brady hypo hyper dyspneic diaphoretic
euvolemic hypervolemic hypovolemic orthopnea pnd jvd jvp hsm cvat cvat lad rad lbbb rbbb nsr stemi nstemi
riss ssi hhs dka hhnk bipap cpap intubated extubated vent trach peg ogt ngt foley picc port hd pd crrt
dob doa dod mrn ssn pcp acct guaiac glu oropharynx nasopharynx hypopharynx larynx pharynx
rusb lusb llsb rlsb lsb usb pmi osh alf hs nh hosp clinical creatinine podiatry
diuresed diuresis diuresing icd crt-d aicd ppm pager beeper
lic mepilex endocatch
""".split()

# Words after a surname that make it an eponym rather than a person.
EPONYM_FOLLOWERS = frozenset("""
disease syndrome sign signs palsy test score scale maneuver manoeuvre catheter criteria classification
phenomenon reflex triad tumor tumour lymphoma sarcoma ulcer fracture procedure operation equation formula
law node nodes coma esophagus membrane body bodies cells cell disorder anomaly malformation hernia cyst risk
""".split())

MEDICAL_TERMS: frozenset[str] = frozenset(EPONYMS + DRUGS + CLINICAL_WORDS) | EPONYM_FOLLOWERS | frozenset(
    "coma scale index ratio grade stage class type".split())

# States and countries are not Safe Harbor identifiers (geography below state level is).
US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California", "CO": "Colorado",
    "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho",
    "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming", "DC": "District of Columbia",
}
COUNTRIES_AND_REGIONS = frozenset("""
us usa u.s. u.s.a. america united states canada mexico uk england britain china india japan korea vietnam
philippines germany france italy spain portugal russia ukraine poland brazil colombia haiti jamaica cuba
puerto rico dominican republic el salvador guatemala honduras nigeria ghana kenya ethiopia somalia egypt iran
iraq israel lebanon syria pakistan bangladesh ireland greece turkey africa asia europe
""".split())
NOT_PHI_PLACES: frozenset[str] = frozenset(
    {s.lower() for s in US_STATES.values()} | {s.lower() for s in US_STATES} | COUNTRIES_AND_REGIONS)


def is_medical_term(phrase: str) -> bool:
    """True when every word of ``phrase`` is allow-listed medical vocabulary."""
    words = [w.strip(".,;:'’()").lower() for w in phrase.replace("'s", "").split()]
    words = [w for w in words if w]
    return bool(words) and all(w in MEDICAL_TERMS or (w.endswith("s") and w[:-1] in MEDICAL_TERMS) for w in words)


# A drug name as common as this in English is an English word first ("caps", "sits", "Fargo"): wordfreq decides.
DRUG_WORD_MAX_ZIPF = 3.5


@functools.lru_cache(maxsize=1)
def drug_words() -> frozenset[str]:
    """One-word drug names, generic and brand, lower case: the variants that the MIT-licensed
    ``drug-named-entity-recognition`` package compiles from DrugBank, MeSH, MedlinePlus and Wikipedia and ships
    inside its wheel (offline). Its dictionary file is read directly: the package's own finder only adds a
    tokenizer and structure lookups we do not need. Short and common words are left out (see above)."""
    data = importlib.resources.files("drug_named_entity_recognition").joinpath("drug_ner_dictionary.pkl.bz2")
    with bz2.open(data.open("rb")) as file:
        variants = pickle.load(file)["drug_variant_to_canonical"]  # a pinned dependency's own data file
    return frozenset(w for w in variants if len(w) >= 4 and w.isalpha() and w.isascii()
                     and zipf_frequency(w, "en") < DRUG_WORD_MAX_ZIPF)
