"""Context rules for layouts no generator was written around: form leaders, roles, signer codes, grown names,
capitalised facility names, addresses without a state, and mentions of what one context found (facility
initials, staff codes) elsewhere in the note. Each rule has a case it must find and one it must
leave alone. Texts are invented (no real notes)."""

from __future__ import annotations

import pytest
from presidio_analyzer import RecognizerResult

from common.config import DeidSection
from privacy.deid import Deidentifier
from privacy.deid.recognizers import _named_organization, facility_initials
from privacy.deid.safelist import is_medical_word


@pytest.fixture(scope="module")
def deid() -> Deidentifier:
    return Deidentifier.from_config(DeidSection(), None)


def removed(deid: Deidentifier, text: str, value: str) -> bool:
    """Whether every word of ``value`` (its first occurrence in ``text``) is covered by a detection."""
    start = text.index(value)
    spans = deid.analyze_batch([text])[0]
    words = [(start + i, start + i + len(w)) for i, w in _words(value)]
    return all(any(s.start < e and b < s.end for s in spans) for b, e in words)


def _words(value: str) -> list[tuple[int, str]]:
    out, i = [], 0
    for w in value.replace(",", " ").replace(".", " ").replace("/", " ").split():
        i = value.index(w, i)
        out.append((i, w))
        i += len(w)
    return out


def entities(deid: Deidentifier, text: str) -> set[str]:
    return {s.entity_type for s in deid.analyze_batch([text])[0]}


@pytest.mark.parametrize(("text", "value"), [
    ("Name ........ GARLAND, ROSE\nUnit no ..... 52K1187\n", "GARLAND, ROSE"),   # dot leaders
    ("Name ........ GARLAND, ROSE\nUnit no ..... 52K1187\n", "52K1187"),
    ("Patient ____ Brooks, Faith\n", "Brooks, Faith"),
    ("Report given to oncoming RN J. Sterling.", "J. Sterling"),                   # role before a name
    ("Per cardiologist Brooks, continue.", "Brooks"),
    ("Last seen by pcp hollister in March.", "hollister"),                           # lower case after pcp
    ("Spoke with Faith Sterling by phone about results.", "Faith Sterling"),                   # ordinary-word names
    ("Refill requested; last visit June of 2021 with BROOKS.", "BROOKS"),
    ("Family (tobias) at bedside overnight.", "tobias"),                             # relative in brackets
    ("Sterling, K. / kste4\n", "Sterling, K."),                                          # signature line
    ("Sterling, K. / kste4\n", "kste4"),
    ("Report given.\n-- lvanw\n", "lvanw"),                                          # code after dashes
    ("Read by: gallo, marina (mgal3) on 3/4/2019\n", "mgal3"),                       # code after a name
    ("triage: wrenj CNA / Brooks, T.\n", "wrenj"),                                   # code before a role
    ("triage: wrenj CNA / Brooks, T.\n", "Brooks, T."),                              # name after role /
    ("Attending: G. Thomas\n", "G. Thomas"),                                         # Thomas is no drug ending
    ("Ms. Garland, R. arrived by car.", "R"),                                                     # grown over the initial
    ("BRIGHT RIVER REGIONAL :: EMERGENCY DEPT\n", "BRIGHT RIVER"),               # capitals
    ("Follow-up at Cedar Grove Health next week.", "Cedar Grove"),
    ("Transferred from St. Ignatius Medical Pavilion.", "Ignatius"),
    ("Born at Rainbow Valley Children's in 2001.", "Rainbow Valley"),
    ("Transferred from BMH for catheterization.", "BMH"),                           # hospital initials
    ("Works at Summit Freight Lines as a driver.", "Summit Freight Lines"),
    ("Current address 22 Birch Ct, Cedar Falls 04011.", "Cedar Falls"),              # city before a ZIP
    ("COMPARISON: Sep-21. No change.", "Sep-21"),                                    # month, 2-digit year
    ("Last colonoscopy Mar '09, normal.", "Mar '09"),
    ("Call back at 617/555-0142 after noon.", "617/555-0142"),
    ("Night shift.\nsterling resting, no distress.", "sterling"),                 # surname before a status verb
    ("BROOKS denies pain. Vitals stable.", "BROOKS"),
    ("pt seen by dr sterling this am", "sterling"),                                 # titles in one case
    ("DR. BROOKS TO FOLLOW.", "BROOKS"),
    ("Retired from Hollis Tool Company in 2010.", "Hollis Tool"),                    # organisation by its kind
    ("Her son attends Brookfield Academy.", "Brookfield"),
    ("Last seen in Aug, doing well since.", "Aug"),                                 # month abbreviated alone
    ("Symptoms began on the 21st and resolved.", "21st"),                            # day of month alone
    ("She is originally from Cedar Rapids.", "Cedar Rapids"),
    ("EDVISIT^4417823^Brooks, Faith^03/04/19^STERLING, HOPE\n", "Brooks, Faith"),     # caret-separated fields
    ("EDVISIT^4417823^Brooks, Faith^03/04/19^STERLING, HOPE\n", "STERLING, HOPE"),
    ("Crohn's disease, dx 12/72.", "12/72"),                                          # month/year after "dx"
    ("Symptoms since Spring 2069, worse now.", "Spring 2069"),                       # season and year
    ("sugars high since tuesday per wife.", "tuesday"),                              # lower-case weekday
    ("Traveled over Passover; returned Monday.", "Passover"),
    ("Next visit 4/25.\n\nigross\ncc: Dr. Lane\n", "igross"),                        # signer code lines
    ("Plan as above.\n\nxv\n", "xv"),
    ("Electronically signed by Wu MD on 3/4/19 [kwu3]\n", "kwu3"),
    ("DD: 06/13/81\nTD: 06/13/2081 pz\nJob #: 61\n", "pz"),
    ("Attending Provider: Lane, Ivo\nivlane\nDD: 06/13/81\n", "ivlane"),
    ("Radiologist: Ann Wu, MD   AWU\n", "AWU"),
    ("ETT at QVMC on 2/10: no ischemia.", "QVMC"),                                   # hospital initials
    ("QRH Emergency Department\nPatient: Lee, Ann\n", "QRH"),
    ("Patient: Lee, Ann\nQRH #2431972\n", "QRH"),
    ("QRH\nDischarge Summary\n", "QRH"),
    ("Kestrel Valley Primary Care\n12 Oak St\n", "Kestrel Valley"),                  # facility kinds
    ("Brought to Our Lady of the Pines Hospital by EMS.", "Our Lady of the Pines"),
    ("Discussed with cardiology fellow Dr. Swan today.", "Swan"),                    # eponyms after a title
    ("Mr. GRAVES returns to clinic.", "GRAVES"),
    ("Patient: FOX, WILLOW K\nMR# 2807632\n", "FOX, WILLOW K"),                      # a bare last initial
    ("spoke w/ dr deshawn nail, ok to increase.", "deshawn nail"),
    ("cc: V. Szymanski; Zeke Ma\n", "Zeke Ma"),
    ("pt's wife dawn gallo called re: sugars.", "dawn gallo"),
    ("reed hunter confirmed identity w/ dob.", "reed hunter"),
    ("Lives with his wife Ursula in Burlington.", "Burlington"),
    ("Discharged to Willowbrook Rehabilitation Center in Bath.", "Bath"),
    ("Retired, formerly with Eastern Mutual Insurance.", "Eastern Mutual Insurance"),  # organisations by context
    ("Insurance: Granite Mutual, member ID QZ1234567", "Granite Mutual"),
    ("DT: 06/13/81\nJob #: 158336  Batch: 03980\n", "03980"),                         # dictation footer numbers
    ("Document: 6-9715839\n", "6-9715839"),
    ("12 Oak St, Concord, N.Y. 01235", "Concord"),
    ("PATIENT: D'SOUZA, GUS S  MRN 8285342", "D'SOUZA, GUS S"),
    ("QRH\nAnticoagulation Clinic\n", "QRH"),
    ("Services from Council on Aging twice a week.", "Council on Aging"),
    ("Attending Provider: Willow Y. Graves\n", "Willow Y. Graves"),                  # eponyms after a name label
    ("PATIENT: LAW          UNIT NO: 6322656", "LAW"),
    ("Dear Dr. Eun-ji Venkataraman:", "Eun-ji Venkataraman"),
    ("QRH\n737 Commonwealth Avenue\n", "QRH"),
])
def test_context_rules_find_phi(deid, text, value):
    assert removed(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("Attending Provider: see below.", "Attending Provider"),
    ("Discussed with Cardiology and the attending physician.", "Cardiology"),
    ("Chest x-ray, PA and Lateral views: clear.", "Lateral"),
    ("Seen in ED, admitted to MICU, then referred to GI.", "MICU"),
    ("Works at home three days a week.", "home"),
    ("Family (mother) at bedside.", "mother"),
    ("Abdomen: Soft, ND, NT.", "Soft"),
    ("Sat (spo2) stable on room air.", "spo2"),
    ("Findings as above.\n-- end\n", "end"),
    ("Dictated by: Lee, Ann, M.D.\n", "M.D."),
    ("Referred to Mental Health and Home Health services.", "Mental Health"),
    ("Re: Ana Ruiz, DOB 03/21/1979", "DOB"),
    ("Triage RN / charge nurse aware.", "charge nurse"),
    ("ED^Triage^Chest Pain^Discharged\n", "Chest Pain"),
    ("MAR reviewed; dec appetite.", "MAR"),
    ("Patient resting. Pain denies radiation.\nShe reports nausea.", "Patient"),
    ("Call dr office and mr. to follow up.", "office"),
    ("Attends a Catholic Church; finished High School.", "Catholic Church"),
    ("Per American Heart Association guidelines.", "American Heart Association"),
    ("Fever since the 3rd day of admission; 5th metatarsal intact.", "3rd"),
    ("III/VI murmur at RUSB, radiating to the carotids.", "RUSB"),
    ("Plan reviewed at PM rounds.", "PM"),
    ("Chest pain 2/2 to costochondritis.", "2/2"),
    ("Plan as above.\n\nStable\n", "Stable"),
    ("See prior note [sic] for details.", "sic"),
    ("Rectal: Guaiac negative.", "Guaiac"),
    ("HEENT: PERRL. Oropharynx clear.", "Oropharynx"),
    ("Framingham risk score reviewed.", "Framingham"),
    ("Dear Ann Lee,\nThank you.", "Dear"),
    ("Follow-up per Fleischner Society guidelines.", "Fleischner Society"),
    ("Insurance: Medicare\n", "Medicare"),
    ("Batch 2 of 3 infused.", "2"),
    ("HPI\nChest pain for two days.", "HPI"),
])
def test_context_rules_leave_clinical_words(deid, text, value):
    assert not removed(deid, text, value)


def test_common_names_with_drug_endings_are_not_medical():
    assert not is_medical_word("Thomas") and not is_medical_word("Chase")
    assert is_medical_word("lymphomas") and is_medical_word("lipase") and is_medical_word("metoprolol")


def test_a_name_found_once_is_found_in_every_case(deid):
    text = "Attending: Dr. Quillon Abernathy\nPlan discussed with abernathy. ABERNATHY to call family."
    spans = deid.analyze_batch([text])[0]
    found = [text[s.start:s.end].lower() for s in spans]
    assert sum("abernathy" in f for f in found) == 3


def test_signer_codes_keep_clinical_codes(deid):
    text = "EF 55%, CD4 count 410. Given KCL 20 / NS at 100.\n"
    assert entities(deid, text) == set()


# (text, the span spaCy tagged ORG, the entity kept, the value kept); None: dropped.
@pytest.mark.parametrize(("text", "org", "entity", "value"), [
    ("Seen at the Lakeshore General Hospital Emergency Department today.",
     "the Lakeshore General Hospital Emergency Department", "HOSPITAL", "Lakeshore General Hospital"),
    ("Services through Bayside Fisheries since May.", "Bayside Fisheries", "ORGANIZATION", "Bayside Fisheries"),
    ("Attends a Kestrel Baptist Church weekly.", "Attends a Kestrel Baptist Church", "ORGANIZATION", "Kestrel Baptist Church"),
    ("Past Medical History\nNone.", "Past Medical History", None, None),             # a heading at a line's start
    ("Admission Date: 3/4   Discharge Date: 3/9", "Discharge Date", None, None),      # a label after a field gap
    ("History of Charcot-Marie-Tooth Disease.", "Charcot-Marie-Tooth Disease", None, None),  # medical words
    ("Attends a Catholic Church weekly.", "Attends a Catholic Church", None, None),   # only generic words
    ("Device by Medtronic, interrogated.", "Medtronic", None, None),                  # one word: a maker, no one's
])
def test_spacy_organisations_pass_where_they_name_one(text, org, entity, value):
    start = text.index(org)
    named = _named_organization(text, RecognizerResult("ORGANIZATION", start, start + len(org), 0.65))
    if entity is None:
        assert named is None
    else:
        assert (named.entity_type, text[named.start:named.end]) == (entity, value)


# Shapes of i2b2-style records (letterheads, signature blocks, follow-up lines), invented texts.
@pytest.mark.parametrize(("text", "value"), [
    ("Sincerely,\n\nAmy Lee, M.D.\njfb/orr\n", "jfb/orr"),                             # dictation code, initials too
    ("Tom Hale, M.D.\nNAM:bixby\n", "bixby"),
    ("Yours truly,\n\nbart hill, M.D.\n", "bart hill"),                                # lower-case signer
    ("Plan as above.\n\nGLASS, RN (NG26)\n", "GLASS"),                                 # surname before credential
    ("See you then.\n\nBanks, Jocasta\nPager 09336\n", "Banks, Jocasta"),             # name above a pager
    ("Nestor Gross, NP\nUser: ngross\n", "ngross"),                                    # username after a label
    ("-- R. Sharp, RN (rsharp)\n", "rsharp"),                                          # signer code in brackets
    ("-- TRUJILLO (ntrujillo)\n", "ntrujillo"),
    ("Lives at 12 Elm St., Eastbrook 06306-6599; needs a ride.", "06306-6599"),         # ZIP+4 without a state
    ("Record date: 2084-10-21\n\nGPVH Cardiology Consult Note\n", "GPVH"),             # hospital initials, letterhead
    ("BVH ADMIT NOTE\n\nName: Ann Lee\n", "BVH"),
    ("Discussed with Dr. Reed of TBHC Cardiology.", "TBHC"),
    ("NORTHGATE EMERGENCY DEPT VISIT\n", "NORTHGATE"),                                  # hospital in capitals
    ("Was seen at Pinecrest last Thursday for cellulitis.", "Pinecrest"),              # where the patient was seen
    ("Follow up with Dr. Gross in Podiatry at Lakeshore in 3 months.", "Lakeshore"),
    ("Follow up with Dr. Gross in Podiatry at Willow Bend in 3 months.", "Willow Bend"),  # ordinary words, a place here
    ("THE GRANITE POINT VA EMERGENCY DEPT VISIT\n", "GRANITE POINT VA"),
    ("Follow up with Dr. Gross in Podiatry at Lakeshore in 3 months.", "Podiatry"),     # department by context
    ("Seen by Nephrology for insulin teaching.", "Nephrology"),
    ("Will discuss at Vascular Surgery conference.", "Vascular Surgery"),
    ("whom I saw in Emergency Department on 8/30.", "Emergency Department"),
    ("GPVH Cardiology Consult Note\n", "Cardiology"),
    ("His car, plate SNA 113, is parked in the lot.", "SNA 113"),                      # licence plate with a space
    ("FH: Father with MI at 41. Mother alive at 66.", "41"),                           # family-history ages
    ("FH: Father with MI at 41. Mother alive at 66.", "66"),
])
def test_record_layout_rules_find_phi(deid, text, value):
    assert removed(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("Abd exam as above.\nneg/pos\n", "neg/pos"),                                      # a line of words is no code
    ("Plan: HTN/DM control.\n", "HTN"),
    ("S1 S2, 2/6 SEM at LUSB.", "2/6"),                                                # murmur grade
    ("MIBI was stopped 2/2 chest pain.", "2/2"),                                       # "secondary to"
    ("Was seen at home last week by the VNA.", "home"),                                # an ordinary place
    ("Follow up at the clinic in 3 months.", "clinic"),
    ("ICU EMERGENCY DEPT VISIT\n", "ICU"),
    ("Discussed with Cardiology and the attending physician.", "Cardiology"),          # a service, no context
    ("Cardiology consult appreciated.", "Cardiology"),
    ("Tinetti score 22/28. Diuresed with IV Lasix.", "Tinetti"),                        # medical words
    ("Tinetti score 22/28. Diuresed with IV Lasix.", "Diuresed"),
    ("Troponin peaked at 41 overnight.", "41"),                                        # a lab value, no age
    ("Allergies: Penicillin (rash)\n", "rash"),                                       # a reaction in brackets
    ("Platelets 150, plate 2 of 3 read.", "2 of"),                                     # no plate number
])
def test_record_layout_rules_leave_clinical_words(deid, text, value):
    assert not removed(deid, text, value)


def test_a_date_after_on_stays_a_date(deid):
    assert removed(deid, "Next visit on 2/2 for labs.", "2/2")


def test_a_name_found_by_the_model_ends_at_its_line(deid):
    text = "PCP: Lois B Fairweather\nAttending: Montoya\n\nNot reviewed by Attending Provider.\n"
    assert removed(deid, text, "Lois B Fairweather")
    assert not removed(deid, text, "Attending")


# --- what one context shows to be PHI is PHI everywhere in the note; shapes added with it -----------------
def test_facility_initials_with_and_without_small_words():
    assert facility_initials("Saint Brendan Regional Medical Center") == ["SBRMC"]
    assert facility_initials("House of the Good Shepherd Hospital") == ["HGSH", "HOTGSH"]
    assert facility_initials("Mercy") == []


def removed_last(deid: Deidentifier, text: str, value: str) -> bool:
    """Whether the last occurrence of ``value`` in ``text`` is covered by a detection."""
    start = text.rindex(value)
    return any(s.start <= start and start + len(value) <= s.end for s in deid.analyze_batch([text])[0])


@pytest.mark.parametrize(("text", "value"), [
    # The hospital named in full once, then by its initials where no rule knows the context.
    ("Admitted to Saint Brendan Regional Medical Center.\nPlan reviewed with the SBRMC stroke team.", "SBRMC"),
    # Initials found once by their context ("transferred from"), then in a sentence no rule reads.
    ("Transferred from KVH overnight.\nOld films requested, KVH radiology will fax.", "KVH"),
    # A typist's code after a dictation date, then again where a code has no context.
    ("TD: 04/02/19 1830 qorlan\nAddendum qorlan 4/3 pending labs.", "qorlan"),
])
def test_what_one_context_finds_is_found_everywhere(deid, text, value):
    assert removed_last(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    # The same letters alone, with no facility in the note, stay.
    ("Old films requested, KVH radiology will fax.", "KVH"),
    # Initials of a facility that spell a medical abbreviation are not propagated ("CT").
    ("Seen at Coastal Trauma Hospital.\nCT head negative.", "CT"),
])
def test_no_propagation_without_a_first_finding_or_onto_medical_abbreviations(deid, text, value):
    assert not removed_last(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("Specimen received MAR-14-2019 0800.", "MAR-14-2019"),
    ("Last echo Nov/03/2021.", "Nov/03/2021"),
    ("Symptoms worse since summer; better over the winter.", "summer"),
    ("Symptoms worse since summer; better over the winter.", "winter"),
])
def test_new_date_shapes(deid, text, value):
    assert removed(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("Spring-loaded clip applied.", "Spring"),
    ("She had a fall in the winter garden.", "fall"),
    ("Mar-2 protein level pending.", "Mar-2"),
])
def test_look_alike_dates_stay(deid, text, value):
    assert not removed(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("ENTERED BY: qz71  3/4/2020\n", "qz71"),
    ("Reviewed by: bvoss, PharmD\n", "bvoss"),
    ("Olander, Pia/pola\n", "pola"),
    ("TD: March 3, 2020  1415  kmarr\n", "kmarr"),
    ("-- ridge, RN  3/4 0900\n", "ridge"),   # an ordinary word where a signer stands
])
def test_staff_codes_in_any_footer(deid, text, value):
    assert removed(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("Reviewed by: pharmacy, PharmD\n", "pharmacy"),   # a word, not a code
    ("Dose 40 mg/day\n", "day"),
    ("Reviewed by: the team\n", "the team"),
])
def test_words_in_footers_stay(deid, text, value):
    assert not removed(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("OR: 7C-12\n", "7C-12"),
    ("She was admitted to 418 on the Cardiac Step-Down Unit.", "418"),
    ("She was admitted to 418 on the Cardiac Step-Down Unit.", "Cardiac Step-Down Unit"),
    ("Service: Medicine, Infusion Center\n", "Infusion Center"),
    ("Night shift -- Labor and Delivery, KVH\n", "Labor and Delivery"),
    ("DISPOSITION: HOME, 4410 CEDAR KNOLL DR, AVON\n", "4410 CEDAR KNOLL DR"),
    ("Lives at 77 County Road 9 with his son.", "77 County Road 9"),
])
def test_rooms_departments_and_streets(deid, text, value):
    assert removed(deid, text, value)


@pytest.mark.parametrize(("text", "value"), [
    ("Strength returned to 100 percent of baseline.", "100"),
    ("OR time 95 minutes.", "95"),
    ("INJECT 10 UNITS SQ NIGHTLY\n", "10 UNITS SQ"),
    ("CXR: 2 VIEW CHEST CT pending\n", "2 VIEW CHEST CT"),
])
def test_numbers_that_are_no_room_or_street_stay(deid, text, value):
    assert not removed(deid, text, value)
