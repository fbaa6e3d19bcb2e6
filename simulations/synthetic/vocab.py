"""Clinical knowledge the synthetic hospitals draw from: specialties, their conditions, and fake identities.

Hand-written general medical knowledge at textbook level; it only has to be coherent enough that
a model can learn something measurable from it, and varied enough that hospitals differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Condition:
    name: str
    specialty: str
    symptoms: tuple[str, ...]
    tests: tuple[str, ...]
    medications: tuple[str, ...]
    advice: str


CONDITIONS: tuple[Condition, ...] = (
    Condition("atrial fibrillation", "cardiology", ("palpitations", "shortness of breath", "fatigue", "dizziness"),
              ("electrocardiogram", "echocardiogram", "thyroid function tests"), ("apixaban", "metoprolol", "diltiazem"),
              "Anticoagulation is chosen by stroke risk; rate control comes first in stable patients."),
    Condition("heart failure", "cardiology", ("dyspnea on exertion", "orthopnea", "ankle swelling", "fatigue"),
              ("echocardiogram", "BNP level", "chest X-ray"), ("furosemide", "sacubitril-valsartan", "carvedilol", "spironolactone"),
              "Daily weights, salt restriction and titration of guideline-directed therapy reduce admissions."),
    Condition("hypertension", "cardiology", ("headache", "often no symptoms", "blurred vision"),
              ("ambulatory blood pressure monitoring", "basic metabolic panel", "urinalysis"), ("amlodipine", "lisinopril", "chlorthalidone"),
              "Confirm with repeated readings; lifestyle change and a first-line agent are the start."),
    Condition("acute coronary syndrome", "cardiology", ("chest pain", "diaphoresis", "nausea", "pain radiating to the left arm"),
              ("troponin", "electrocardiogram", "coronary angiography"), ("aspirin", "ticagrelor", "atorvastatin", "heparin"),
              "Chest pain with ECG changes needs emergency care; time to reperfusion matters."),
    Condition("asthma", "pulmonology", ("wheezing", "cough at night", "chest tightness", "shortness of breath"),
              ("spirometry", "peak flow monitoring", "fractional exhaled nitric oxide"), ("albuterol", "budesonide-formoterol", "montelukast"),
              "Inhaled corticosteroids control inflammation; check inhaler technique at every visit."),
    Condition("chronic obstructive pulmonary disease", "pulmonology", ("chronic cough", "sputum production", "dyspnea", "wheezing"),
              ("spirometry", "chest X-ray", "arterial blood gas"), ("tiotropium", "salmeterol", "prednisone"),
              "Smoking cessation is the intervention that changes the course of the disease."),
    Condition("community-acquired pneumonia", "pulmonology", ("fever", "productive cough", "pleuritic chest pain", "shortness of breath"),
              ("chest X-ray", "complete blood count", "sputum culture"), ("amoxicillin", "azithromycin", "ceftriaxone"),
              "Severity scores such as CURB-65 guide whether to admit."),
    Condition("pulmonary embolism", "pulmonology", ("sudden dyspnea", "pleuritic chest pain", "tachycardia", "hemoptysis"),
              ("D-dimer", "CT pulmonary angiography", "lower limb ultrasound"), ("enoxaparin", "apixaban", "alteplase"),
              "Pre-test probability decides between D-dimer and direct imaging."),
    Condition("type 2 diabetes", "endocrinology", ("increased thirst", "frequent urination", "fatigue", "blurred vision"),
              ("HbA1c", "fasting glucose", "lipid panel", "urine albumin"), ("metformin", "empagliflozin", "semaglutide", "insulin glargine"),
              "Metformin is first line; SGLT2 inhibitors protect heart and kidneys."),
    Condition("hypothyroidism", "endocrinology", ("fatigue", "weight gain", "cold intolerance", "constipation"),
              ("TSH", "free T4", "thyroid peroxidase antibodies"), ("levothyroxine",),
              "Levothyroxine is taken on an empty stomach and the dose is adjusted by TSH."),
    Condition("diabetic ketoacidosis", "endocrinology", ("vomiting", "abdominal pain", "deep rapid breathing", "confusion"),
              ("blood glucose", "serum ketones", "arterial blood gas", "electrolytes"), ("insulin infusion", "intravenous fluids", "potassium chloride"),
              "Fluids first, then insulin, with close potassium monitoring."),
    Condition("chronic kidney disease", "nephrology", ("fatigue", "swelling", "itching", "reduced urine output"),
              ("serum creatinine", "eGFR", "urine albumin-to-creatinine ratio"), ("lisinopril", "dapagliflozin", "sodium bicarbonate"),
              "Blood pressure control and RAAS blockade slow progression."),
    Condition("acute kidney injury", "nephrology", ("reduced urine output", "swelling", "confusion", "nausea"),
              ("serum creatinine", "urinalysis", "renal ultrasound"), ("intravenous fluids", "furosemide"),
              "Find the cause: prerenal, intrinsic or obstructive; stop nephrotoxic drugs."),
    Condition("urinary tract infection", "nephrology", ("dysuria", "urinary frequency", "suprapubic pain", "fever"),
              ("urinalysis", "urine culture"), ("nitrofurantoin", "trimethoprim-sulfamethoxazole", "ceftriaxone"),
              "Uncomplicated cystitis needs a short course; fever and flank pain suggest pyelonephritis."),
    Condition("ischemic stroke", "neurology", ("sudden weakness on one side", "facial droop", "slurred speech", "vision loss"),
              ("CT head", "CT angiography", "MRI brain"), ("alteplase", "aspirin", "clopidogrel", "atorvastatin"),
              "Time is brain: thrombolysis within the window and thrombectomy for large vessel occlusion."),
    Condition("migraine", "neurology", ("throbbing headache", "nausea", "sensitivity to light", "visual aura"),
              ("clinical diagnosis", "MRI brain if red flags"), ("sumatriptan", "ibuprofen", "propranolol", "topiramate"),
              "Triptans treat attacks; preventives are offered for frequent migraine."),
    Condition("epilepsy", "neurology", ("recurrent seizures", "loss of awareness", "tongue biting", "confusion after episodes"),
              ("electroencephalogram", "MRI brain"), ("levetiracetam", "lamotrigine", "valproate"),
              "Choice of antiseizure drug depends on seizure type and pregnancy potential."),
    Condition("Parkinson disease", "neurology", ("resting tremor", "slowness of movement", "rigidity", "shuffling gait"),
              ("clinical examination", "DaTscan"), ("levodopa-carbidopa", "pramipexole", "rasagiline"),
              "Levodopa remains the most effective symptomatic treatment."),
    Condition("sepsis", "infectious disease", ("fever", "rigors", "confusion", "low blood pressure"),
              ("blood cultures", "serum lactate", "complete blood count"), ("piperacillin-tazobactam", "vancomycin", "norepinephrine"),
              "Cultures, early broad antibiotics and fluids within the first hour."),
    Condition("cellulitis", "infectious disease", ("red warm skin", "swelling", "pain", "fever"),
              ("clinical examination", "complete blood count"), ("cephalexin", "clindamycin", "cefazolin"),
              "Mark the margins and elevate the limb; consider MRSA risk factors."),
    Condition("HIV infection", "infectious disease", ("fever", "weight loss", "night sweats", "swollen lymph nodes"),
              ("HIV antigen/antibody test", "CD4 count", "viral load"), ("bictegravir-emtricitabine-tenofovir", "dolutegravir"),
              "Start antiretroviral therapy promptly; undetectable means untransmittable."),
    Condition("breast cancer", "oncology", ("breast lump", "nipple discharge", "skin dimpling"),
              ("mammography", "core needle biopsy", "HER2 testing"), ("tamoxifen", "letrozole", "trastuzumab"),
              "Treatment follows receptor status and stage."),
    Condition("colorectal cancer", "oncology", ("rectal bleeding", "change in bowel habit", "weight loss", "anemia"),
              ("colonoscopy", "CT chest abdomen pelvis", "CEA"), ("FOLFOX chemotherapy", "capecitabine", "bevacizumab"),
              "Screening from age 45 finds disease early."),
    Condition("lung cancer", "oncology", ("persistent cough", "hemoptysis", "weight loss", "chest pain"),
              ("CT chest", "PET-CT", "bronchoscopy with biopsy"), ("pembrolizumab", "osimertinib", "carboplatin"),
              "Molecular testing guides targeted therapy."),
    Condition("gastroesophageal reflux disease", "gastroenterology", ("heartburn", "regurgitation", "chronic cough"),
              ("trial of acid suppression", "upper endoscopy"), ("omeprazole", "famotidine"),
              "Alarm features such as weight loss or dysphagia need endoscopy."),
    Condition("acute pancreatitis", "gastroenterology", ("severe epigastric pain", "pain radiating to the back", "nausea", "vomiting"),
              ("serum lipase", "abdominal ultrasound", "CT abdomen"), ("intravenous fluids", "morphine"),
              "Early fluids and feeding; look for gallstones and alcohol."),
    Condition("ulcerative colitis", "gastroenterology", ("bloody diarrhea", "abdominal cramps", "urgency"),
              ("colonoscopy with biopsy", "fecal calprotectin"), ("mesalamine", "prednisone", "infliximab"),
              "Mesalamine induces and maintains remission in mild disease."),
    Condition("preeclampsia", "obstetrics", ("high blood pressure", "headache", "visual disturbance", "swelling"),
              ("urine protein", "platelet count", "liver enzymes"), ("labetalol", "magnesium sulfate", "nifedipine"),
              "Delivery is the cure; magnesium prevents eclamptic seizures."),
    Condition("gestational diabetes", "obstetrics", ("often no symptoms", "increased thirst"),
              ("oral glucose tolerance test",), ("insulin", "metformin"),
              "Diet first; insulin if targets are not met."),
)

SPECIALTIES: tuple[str, ...] = tuple(sorted({c.specialty for c in CONDITIONS}))

FIRST_NAMES = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
               "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Maria",
               "Wei", "Mei", "Ahmed", "Fatima", "Olga", "Ivan", "Priya", "Raj", "Kenji", "Yuki", "Aisha", "Kwame")
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
              "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
              "Nguyen", "Chen", "Okafor", "Kowalski", "Schmidt", "Rossi", "Haddad", "Patel", "Tanaka", "Ivanova")
CITIES = (("Springfield", "IL", "62704"), ("Riverside", "CA", "92501"), ("Franklin", "TN", "37064"),
          ("Greenville", "SC", "29601"), ("Madison", "WI", "53703"), ("Salem", "OR", "97301"),
          ("Fairview", "NJ", "07022"), ("Georgetown", "TX", "78626"), ("Clinton", "IA", "52732"))
STREETS = ("Oak Street", "Maple Avenue", "Cedar Lane", "Pine Road", "Elm Drive", "Washington Boulevard",
           "Lake View Court", "Hillcrest Way", "Sunset Terrace", "Mill Pond Road")

# --- de-identification corpus: more identities and the non-PHI text that surrounds them ---------------
MORE_FIRST_NAMES = ("Dorothy", "Harold", "Gloria", "Walter", "Beatrice", "Eugene", "Consuelo", "Tomasz", "Ngozi",
                    "Siobhan", "Dmitri", "Anjali", "Luis", "Hiroshi", "Esperanza", "Oluwaseun", "Margit", "Rafael",
                    "Chloe", "Tyrone", "Imani", "Bjorn", "Leilani", "Jean-Pierre", "Mary Ann")
MORE_LAST_NAMES = ("O'Brien", "McAllister", "Van Buren", "Abernathy", "Nakamura", "Oyelaran", "Szymanski",
                   "Fitzgerald", "Delacroix", "Whitfield", "Castellanos", "Lindqvist", "Achebe", "Hollister",
                   "Smith-Jones", "Park", "Lee", "Ortiz", "Baptiste", "Kaur")
MORE_CITIES = (("Brookhaven", "NY", "11719"), ("Cedar Rapids", "IA", "52401"), ("Bend", "OR", "97701"),
               ("Walla Walla", "WA", "99362"), ("St. Cloud", "MN", "56301"), ("Port Arthur", "TX", "77640"),
               ("Lebanon", "NH", "03766"), ("Hanover", "NH", "03755"), ("Ely", "NV", "89301"))
MORE_STREETS = ("N. Main St.", "Old Farm Rd", "Route 9 Hwy", "Chestnut Hill Ave", "Beacon St", "Riverbend Dr.",
                "Kings Hwy", "Orchard Ln", "S 4th Street", "Harbor View Blvd")
RELATIVES = ("wife", "husband", "daughter", "son", "sister", "brother", "mother", "niece", "partner")
STAFF_ROLES = ("Attending", "Resident", "PCP", "Referring Physician", "Dictated by", "cc")
CREDENTIALS = ("MD", "M.D.", "RN", "NP", "PA-C", "DO")
HEALTH_PLANS = ("Blue Cross", "Medicare", "Medicaid", "Aetna", "United Healthcare")
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "comcast.net", "outlook.com")
DEVICES = ("pacemaker", "ICD", "insulin pump", "cochlear implant", "infusion pump")
# Text that looks like PHI to a naive recognizer but is not: it must survive de-identification.
NON_PHI_SNIPPETS = (
    "BP 118/76, HR 72, RR 16, SpO2 97% on RA, T 98.6 F.",
    "Apgars 8/9. Birth weight 3.2 kg.",
    "Take 1/2 tab by mouth at bedtime.",
    "Grade 2/6 systolic murmur at the left sternal border. Strength 5/5 throughout.",
    "Pain 3/10, improved from 7/10 on admission.",
    "History of Parkinson disease; Foley catheter removed on day 2.",
    "Negative Babinski sign, negative Romberg, Glasgow Coma Scale 15.",
    "Hodgkin lymphoma in remission; Crohn disease stable on infliximab.",
    "Visual acuity 20/40 OU. Cushing syndrome screen negative.",
    "Levodopa-carbidopa 25/100 mg three times daily.",
    "Wilson disease was considered and ruled out.",
    "Swan-Ganz catheter not placed. Holter monitor for 48 hours.",
)
LAB_ROWS = (("Na", "138", "mmol/L"), ("K", "4.1", "mmol/L"), ("Cr", "1.02", "mg/dL"), ("Hgb", "12.8", "g/dL"),
            ("WBC", "7.4", "K/uL"), ("Plt", "245", "K/uL"), ("Glucose", "112", "mg/dL"), ("INR", "1.1", ""),
            ("TSH", "2.3", "mIU/L"), ("HbA1c", "7.2", "%"))
