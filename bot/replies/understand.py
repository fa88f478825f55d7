"""Offline understanding of a parent's SMS reply to an absence text.

A reply such as "Maisie has a high temperature, hopefully back tomorrow" becomes a suggested national
attendance code, the school day the child is expected back, and whether the words suggest a
safeguarding or welfare worry. The suggestion is evidence for staff, never a decision: a parent's
reply cannot authorise an absence.

How it works, and why this way (no network, no model download, explainable to a school):

1. ``_normalise`` folds case and diacritics (NFKD), so "gorączkę", "gorączke" and "goraczke" are one
   word, and glues English contractions ("won't" -> "wont").
2. ``_spell_correct`` replaces a word that is not known but is one typo (two for long words) away
   from a vocabulary word with that word ("temprature" -> "temperature"). The first letter must agree
   and common English words are never corrected, so "never" does not become "fever".
3. Vocabulary tables (below, one row per language) are matched as whole words, ``stem*`` prefixes,
   phrases or ``re:`` regular expressions. Each code that matches is a candidate and ``_PRIORITY``
   picks one: the most specific reason wins ("Dentist at 10, I'll bring him in after" is M, not LATE).
4. A concern is raised by its own table, by a parent saying *they* are ill (the child may be caring),
   by a child caring for a sibling or parent, and always for IN_SCHOOL (a missing-child emergency).
   Recall matters more than precision here, but words that also occur in ordinary illness replies
   ("violently sick", "I'm afraid she's ill") are written so they do not fire.
5. A small date grammar finds when the child is back; the date is then moved to a school day.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from rapidfuzz.distance import OSA

# --------------------------------------------------------------------------------------------------
# Vocabulary tables. Entries are written naturally (accents allowed) and normalised like the text.
#   word      whole word            stem*     word starting with stem
#   two words phrase (stems allowed in its last word)
#   re:...    regular expression on the normalised text
#   Entries in a non-Latin script (Arabic, Urdu, emoji) match as substrings, because those scripts
#   attach articles and prepositions to the word.
# A code ending in "?" is weak evidence: it only counts when no strong code matched. "G@" is a
# holiday destination ("We're in Tenerife till the 4th").
# --------------------------------------------------------------------------------------------------

OPT_OUT = frozenset({"stop", "unsubscribe", "end", "quit", "stopall", "revoke", "optout", "cancel"})
OPT_IN = frozenset({"start", "yes", "unstop"})

VOCAB: dict[str, tuple[str, ...]] = {
    "IN_SCHOOL": (
        # en
        r"re:\bdropped (?:him|her|them|the kids|the children|the boys|the girls|both|[a-z]+) "
        r"(?:off|at|outside|by|to|in)\b",
        r"re:\bdropped (?:him|her|them) (?:this morning|today)",
        r"re:\b(?:left|set off|went|gone|walked|headed) (?:the house |home |this morning )?"
        r"(?:for|to|to go to|towards) school\b",
        r"re:\bleft (?:the house |home )?(?:at|about|around) \d",
        r"re:\b(?:walked|took|drove|sent|dropped) (?:him|her|them) "
        r"(?:in|into school|to school|this morning)\b",
        r"re:\b(?:got|caught|got on) the (?:school )?bus (?:this morning|to school|as normal|as usual)",
        r"re:\bshould (?:be|have been|of been) (?:there|in school|at school|in class|with you|in)\b"
        r"(?! school| tomorrow| monday| tuesday| wednesday| thursday| friday| next| after| on| by| later)",
        r"re:\b(?:hes|shes|he is|she is|they are|theyre) (?:in|at) school\b(?! tomorrow| on| next)",
        r"re:\b(?:saw|watched) (?:him|her|them) (?:go|walk|going|walking) (?:in|into|through)\b",
        r"re:\b(?:hes|shes|he is|she is) definitely (?:in|there|at school)\b",
        r"re:\b(?:at|to) the (?:school )?gates? (?:at|this morning)",
        # pl
        r"re:\b(?:poszedl|poszla|poszli|wyszedl|wyszla|wyszli) (?:rano )?do szkoly",
        r"re:\b(?:powinien|powinna|powinni) (?:byc|juz byc) w szkole",
        r"re:\b(?:odprowadzil|zaprowadzil|zawiozl|odwiozl)\w* (?:go|ja|je|ich)? ?(?:do|pod) szkol",
        # ro
        r"re:\bplecat\w* (?:la|spre|catre) scoala",
        r"re:\b(?:dus|lasat)\w* (?:o |l |i )?la scoala",
        r"re:\b(?:sa fie|ar trebui sa fie|trebuie sa fie) la scoala",
        # es
        r"re:\b(?:se fue|salio|fue|ha ido|se ha ido) (?:al|a la|para el|para la|hacia el) "
        r"(?:colegio|escuela|cole|instituto)",
        r"re:\b(?:lo|la|los|las) (?:deje|lleve) (?:en|al|a la) (?:colegio|escuela|cole|instituto)",
        r"re:\b(?:deberia estar|tiene que estar|debe estar) en (?:el |la )?"
        r"(?:colegio|escuela|cole|instituto)",
        # pt
        r"re:\b(?:foi|saiu|ja foi) (?:para a|pra|a|para o|pro) (?:escola|colegio)",
        r"re:\b(?:deixei|levei)(?: o| a)? (?:na|a|para a|pra) escola",
        r"re:\b(?:deveria|devia|deve|tem de|tem que) estar na escola",
        # fr
        r"re:\b(?:est |suis )?partie? (?:a|pour) l ?ecole",
        r"re:\b(?:depose|emmene|amene)e?s? (?:a|devant) l ?ecole",
        r"re:\b(?:devrait|doit) etre a l ?ecole",
        # lt
        r"re:\b(?:isejo|isvaziavo|nuejo) i mokykla",
        r"re:\b(?:nuvedziau|nuveziau|palydejau)\w* i mokykla",
        r"re:\bturetu buti mokykloje",
        # ur (romanised)
        r"re:\bschool (?:gaya|gayi|gai|gaye|gya|gyi|chala gaya|chali gayi|chale gaye)\b",
        r"re:\bschool (?:chor|chhor|chod|chhod|bhej|bheja|bheji)",
        r"re:\bschool (?:mein|me|main) (?:hona|hone) chahi",
    ),
    "C": (
        "funeral*", "funreal", "bereave*", "passed away", "died", "death", "burial",
        "cremation", "memorial", "grieving", "grief", "family emergency", "emergency at home",
        "house fire", "family crisis", "compassionate", "critically ill", "life support", "hospice",
        "end of life",
        r"re:\b(?:nan|nana|nanna|nanny|gran|granny|grandma|grandmother|grandad|granddad|grandpa|"
        r"grandfather|uncle|auntie|aunty|aunt|cousin)s?\b.{0,40}\b(?:hospital|intensive care|icu|"
        r"critical|rushed in|passed)",
        # pl
        "pogrzeb*", "zmarl*", "umarl*", "smierc*",
        # ro
        "inmormantar*", "decedat*", "a murit", "deces*",
        # es
        "entierro", "falleci*", "murio", "muerte", "velorio",
        # pt
        "enterro", "faleceu", "falecimento", "falecid*", "morreu",
        # fr
        "enterrement", "funerailles", "obseques", "deces", "decede*", "est mort", "est morte",
        # lt
        "laidotuv*", "mire", "mirtis", "mirties",
        # ur
        "janaza", "janazah", "jinaza", "intiqal", "inteqal", "wafat", "wafaat", "faut ho gaya",
        "جنازة", "جنازہ", "وفات", "وفاة", "توفي",
    ),
    "C?": ("emergency", "urgent", "crisis", "emergencia", "urgencia", "urgenta", "urgence", "nagly wypadek"),
    "R": (
        "eid*", "eid ul fitr", "eid ul adha", "diwali", "deepavali", "yom kippur", "rosh hashana*",
        "passover", "pesach", "hanukkah", "chanukah", "sukkot", "shavuot", "purim", "vaisakhi",
        "baisakhi", "guru nanak", "gurpurab", "gurpurb", "holi", "navratri", "dussehra", "durga puja",
        "janmashtami", "raksha bandhan", "mosque", "masjid", "synagogue", "gurdwara", "religious",
        "religion", "holy day", "orthodox christmas", "orthodox easter", "epiphany", "ashura",
        "muharram", "mawlid", "milad", "shabbat", "sabbath", "bar mitzvah", "bat mitzvah",
        "first communion", "holy communion", "communion", "pilgrimage", "umrah", "hajj", "namaz",
        "temple",
        # pl
        "komuni*", "swieto religijne",
        # ro
        "sarbatoare religioasa", "craciun*", "pastele", "boboteaz*", "hram",
        # es / pt
        "comunion", "comunhao", "fiesta religiosa", "festa religiosa",
        # fr
        "l aid", "aid el", "aid al", "fete religieuse", "mosquee",
        # lt
        "religin*", "kucios", "velyk*", "komunij*",
        # ur / ar
        "عید", "عيد",
    ),
    "R?": ("ramadan", "festival", "church", "prayers", "kosciol*", "biseric*", "iglesia", "igreja", "eglise",
           "baznyci*"),
    "M": (
        "appointment*", "appt*", "apointment", "dentist*", "dental", "orthodont*", "optician*",
        "eye test", "clinic", "check up", "checkup", "camhs", "consultant", "vaccin*", "jab", "jabs",
        "injection*", "immunis*", "blood test*", "x ray", "xray", "scan", "physio*", "therapy",
        "therapist", "audiology", "hearing test", "paediatrician", "pediatrician", "outpatient*",
        "brace", "braces", "assessment", "counselling", "counsellor", "podiatrist", "chiropodist",
        "dermatolog*", "mri", "ecg", "eeg", "specialist",
        # pl
        "wizyt*", "dentyst*", "stomatolog*", "okulist*", "szczepien*", "badani*", "kontrol*",
        "poradni*", "przychodni*",
        # ro
        "programar*", "oftalmolog*", "consult*", "analize", "la control",
        # es
        "cita", "citas", "revision", "vacuna*", "ortodonc*", "oculista", "pediatra", "analisis",
        # pt
        "vacin*", "exames", "exame", "analises",
        # fr
        "rendez vous", "rdv", "ophtalmo*", "visite medicale", "prise de sang", "pediatre", "orthophon*",
        # lt
        "vizit*", "odontolog*", "dantist*", "skiep*", "patikr*", "poliklinik*", "konsultacij*",
    ),
    "M?": ("doctor", "doctors", "dr", "drs", "gp", "nurse", "surgery", "lekarz*", "medic", "medico",
           "medecin", "docteur", "gydytoj*", "daktar", "doctor ke"),
    "I": (
        # en
        "ill", "illness", "unwell", "poorly", "poorley", "sick", "sickness", "sicky", "sik", "vomit*",
        "vomming", "throwing up", "threw up", "thrown up", "being sick", "puk*", "diarr*", "diahor*",
        "diarhe*", "d&v", "temperature", "temp", "temps", "fever*", "flu", "cold", "colds", "cough*",
        "covid*", "corona*", "virus", "viral", "bug", "tummy", "stomach*", "belly", "headache*",
        "migrain*", "earache*", "ear ache", "infection*", "infected", "tonsil*", "chickenpox",
        "chicken pox", "measles", "mumps", "scarlet fever", "strep*", "conjunctivitis", "pink eye",
        "hand foot and mouth", "impetigo", "rash", "asthma*", "wheez*", "chest infection",
        "sore throat", "throat", "sore", "toothache", "tooth ache", "fracture*", "sprain*", "injur*",
        "concussion", "allergic", "allergy", "a&e", "in hospital", "admitted", "nosebleed*",
        "period pain*", "cramps", "eczema", "hayfever", "hay fever", "pneumonia", "bronchiolitis",
        "bronchitis", "croup", "norovirus", "noro", "glandular", "antibiotic*", "calpol",
        "paracetamol", "not well", "not feeling well", "not feeling great", "under the weather",
        "off colour", "dizzy", "faint*", "seizure*", "epilep*", "diabet*", "operation", "recover*",
        "anxious", "anxiety", "panic attack*", "depress*", "mental health", "low mood", "exhausted",
        "ache*", "aching", "pain", "pains", "painful", "hurt*", "runny nose", "snotty", "congested",
        "chesty", "gastro", "not himself", "not herself", "pale", "lethargic", "groggy", "feeling rough",
        "food poisoning", "swollen", "swelling", "appendicitis", "stitches", "shingles",
        "whooping cough", "laryngitis", "sinus*", "nausea*", "nauseous", "unwel", "self harm*",
        r"re:\bbroken? (?:his |her |their |a )?(?:arm|leg|wrist|ankle|finger|toe|nose|foot|hand|"
        r"collarbone|elbow|bone)",
        "🤢", "🤮", "🤒", "🤧", "😷",
        # pl
        "chory", "chora", "chore", "chorzy", "choroba", "chorob*", "choruje", "zachorow*", "goraczk*",
        "przeziebi*", "grypa", "grypy", "grype", "wymiot*", "biegunk*", "boli", "bol", "bolu",
        "kaszel", "kaszle", "katar", "zatruci*", "zatrul*", "infekcj*", "angin*", "w szpitalu",
        "zle sie czuje", "zle sie czula", "zle sie czul", "wysypk*", "ospa", "ospe", "rzyga*",
        # ro
        "bolnav*", "racit*", "raceal*", "febra", "febril*", "voma", "varsaturi", "diaree", "gripa",
        "gripat*", "tuse*", "tuseste", "durere*", "dureri", "doare", "se simte rau", "nu se simte bine",
        "infecti*", "la spital", "in spital", "viroza", "indispus*", "varicela",
        # es
        "enferm*", "fiebre", "gripe", "diarrea", "tos", "resfriad*", "constipad*", "dolor", "duele",
        "malo", "mala", "se encuentra mal", "no se encuentra bien", "no se siente bien", "se siente mal",
        "infeccion", "catarro", "anginas", "migrana", "calentura", "hospitalizad*",
        # pt
        "doente*", "febre", "diarreia", "tosse", "dor", "dores", "mal disposto", "mal disposta",
        "indispost*", "infec*", "nao esta bem", "nao se sente bem", "enjoo", "enjoad*", "virose",
        "internad*",
        # fr
        "malade*", "fievre", "grippe", "vomi*", "diarrhee", "toux", "tousse", "rhume", "mal de tete",
        "mal au ventre", "mal a la tete", "mal au*", "angine", "otite", "varicelle", "pas bien",
        "hospitalise*", "nausee*",
        # lt
        "serga", "sergu", "susirgo", "susirgus*", "serg*", "ligon*", "liga", "ligos", "karsciuoja",
        "karscio", "karstis", "karsti", "karsciu", "vemia", "vemti", "veme", "vemal*", "viduriuoja",
        "viduriavim*", "gripas", "gripu", "persalo", "persal*", "kosul*", "kosti", "skauda",
        "blogai jauciasi", "negaluoja", "negalavim*",
        # ur (romanised)
        "bimar", "beemar", "bemar", "bimaar", "beemaar", "bimari", "bemari", "bukhar", "bukhaar",
        "bokhar", "tabiyat", "tabiat", "tabeeat", "tabiyet", "tabyat", "tbiyat", "tabiyat kharab",
        "ulti", "ultiyan", "ultian", "ultee", "dast", "zukam", "zukaam", "nazla", "khansi", "khaansi",
        "dard", "theek nahi",
        "thik nahi", "thek nahi", "thik nai", "theek nahin", "thik nahin",
        # ur / ar script
        "بیمار", "بخار", "طبیعت", "مريض", "مريضة", "مرض", "حمى", "حرارة", "سخونة", "تعبان", "إسهال",
        "اسهال", "استفراغ", "زكام", "انفلونزا", "كحة", "سعال", "وجع",
    ),
    "I?": ("hospital", "szpital*", "spital*", "hopital", "ligonin*", "مستشفى"),
    "J1": (
        "interview*", "interveiw*", "intreview*", "rozmow* kwalifikacyjn*", "interviu*", "entrevista*",
        "entretien*", "pokalbi*", "pokalb*",
    ),
    "J1?": ("open day", "taster day", "taster session", "induction day", "dzien otwarty"),
    "C1": (
        "performance", "performing", "perform*", "filming", "film shoot", "photo shoot", "photoshoot",
        "acting", "actor", "actress", "theatre", "panto*", "musical", "modelling", "modeling",
        "on set", "advert", "commercial", "licence", "casting", "rehearsal*", "west end", "tv",
        "television", "audition*",
        "wystep*", "nagrani*", "spectacol*", "filmari", "actuacion", "rodaje", "espetaculo",
        "gravacao", "spectacle", "tournage", "pasirodym*", "filmavim*",
    ),
    "T": (
        "with the fair", "on the fair", "fairground", "showmen", "showman", "showmans", "show people",
        "circus", "travelling show", "traveller*", "traveler*", "travelling for work",
        "travel for work", "travelling with work", "travelling with the", "away with work",
        "away for work", "working away", "horse fair", "appleby", "seasonal work", "fruit picking",
        "picking season", "gypsy", "gipsy", "romany",
        "praca sezonowa", "wyjazd sluzbowy", "viaje de trabajo", "por trabajo", "viagem de trabalho",
        "voyage professionnel", "darbo reikalais", "komandiruot*", "cu serviciul", "cu munca",
    ),
    "G": (
        "holiday*", "hols", "holliday*", "vacation", "abroad", "overseas", "trip", "flight*", "flying",
        "airport", "plane", "cruise", "disney*", "centerparcs", "center parcs", "centre parcs",
        "caravan*", "camping", "long weekend", "weekend away", "city break", "mini break",
        "going away", "gone away", "away for", "away till", "away until", "away on", "we are away",
        "were away", "visiting family in", "back home to", "family visit",
        # pl
        "wakacj*", "urlop*", "wyjazd*", "wyjecha*", "w polsce", "do polski", "za granic*", "samolot*",
        "lotnisk*", "ferie", "wycieczk*",
        # ro
        "vacant*", "concediu", "in romania", "in tara", "excursie", "avion", "aeroport",
        # es
        "vacacion*", "viaje*", "viajando", "aeropuerto", "en espana",
        # pt
        "ferias", "viagem", "viajar", "viajamos", "aviao", "aeroporto", "em portugal", "no brasil",
        # fr
        "vacances", "voyage*", "etranger", "aeroport",
        # lt
        "atostog*", "kelion*", "isvyk*", "lietuvoje", "i lietuva", "lektuv*", "oro uost*",
        # ur
        "chutti*", "chhutti*", "watan",
    ),
    "G@": (
        # places parents go on holiday to (a bare "We're in Tenerife till the 4th" is a holiday)
        "tenerife", "lanzarote", "fuerteventura", "gran canaria", "canaries", "majorca", "mallorca",
        "menorca", "minorca", "ibiza", "benidorm", "spain", "portugal", "algarve", "france", "paris",
        "italy", "rome", "greece", "crete", "corfu", "rhodes", "cyprus", "turkey", "dubai", "egypt",
        "florida", "orlando", "america", "usa", "new york", "jamaica", "barbados", "pakistan", "india",
        "bangladesh", "poland", "romania", "lithuania", "nigeria", "ghana", "morocco", "thailand",
        "mexico", "dominican republic", "cuba", "maldives", "bulgaria", "croatia", "malta", "madeira",
        "lapland", "ireland", "cornwall", "devon", "lake district", "butlins", "somalia", "kenya",
        "sri lanka", "kashmir", "mirpur", "lahore", "karachi", "islamabad", "dhaka", "sylhet",
        "bucharest", "warsaw", "krakow", "vilnius", "kaunas", "lisbon", "madrid", "porto", "brazil",
        "albania", "kosovo", "hungary", "slovakia", "czech", "latvia", "germany", "amsterdam",
        "holland", "belgium", "switzerland", "austria", "tunisia", "gambia", "zimbabwe",
        "south africa", "australia", "canada", "china", "hong kong", "vietnam", "philippines", "iraq",
        "iran", "afghanistan", "yemen", "saudi", "sudan", "eritrea", "ethiopia",
    ),
    "G?": ("away", "travel*", "visiting"),
    "Y2": (
        "snow*", "ice", "icy", "black ice", "flood*", "roads closed", "road closed", "road is closed",
        "roads are closed", "closed roads", "strike*", "storm*", "blizzard", "weather",
        "trains cancelled", "train cancelled", "no trains", "landslide", "fallen tree", "tree down",
        "heavy rain",
        "snieg*", "sniez*", "zasyp*", "powodz*", "zalan*", "strajk*", "burz*", "gololedz*",
        "zapad*", "ninsoare", "ninge", "inzapez*", "inunda*", "greva", "furtun*", "polei",
        "nieve", "nevad*", "huelga", "tormenta", "temporal", "hielo",
        "neve", "cheia*", "greve", "tempestade", "gelo",
        "neige", "inond*", "tempete", "verglas",
        "potvyn*", "streik*", "audr*", "plikled*",
        "selab", "sailab", "hartal", "toofan", "tufan",
    ),
    "Y1": (
        "bus", "buses", "school bus", "coach", "minibus", "taxi", "school taxi", "van", "school van",
        "transport*", "no lift", "lift fell through", "car broke down", "broken down", "broke down",
        "car wont start", "car wouldnt start", "car isnt starting", "flat tyre", "puncture",
        "no car", "missed the bus", "no petrol",
        "autobus*", "zepsul*", "autobuz*", "microbuz", "stricat*", "averiad*", "autocarro", "onibus",
        "avari*", "boleia", "panne", "navette", "sugedo", "gari kharab", "gaari kharab", "van nahi",
        "bus nahi",
    ),
    "LATE": (
        r"re:(?<!up )(?<!stayed )(?<!too )(?<!till )(?<!until )(?<!home )\blate\b"
        r"(?! night| last| yesterday| reply| response| message| text)",
        "running late", "runing late", "running behind", "on our way", "on the way", "on his way",
        "on her way", "omw", "be there by", "be there at", "be in by", "be in at", "there by",
        "in shortly", "be there shortly", "be there soon", "be in soon", "coming in later",
        "come in later", "be in later", "bring him in later", "bring her in later",
        "bringing him in", "bringing her in", "bringing them in", "dropping him off", "dropping her off",
        "drop him off", "drop her off", "drop him in", "drop her in", "few minutes", "few mins",
        "mins away", "minutes away", "stuck in traffic", "traffic", "arriving", "will arrive",
        r"re:\b(?:in|there|school|him|her|them)\s+(?:this afternoon|after lunch|by lunch|for the afternoon|"
        r"later this morning|later today|later)\b",
        "afternoon session", "pm session", "pm register", "set off now", "leaving now", "just leaving",
        r"re:\bin \d+ ?(?:mins?|minutes)\b",
        r"re:\b(?:be|bring|get|drop|take) (?:(?:him|her|them) )?(?:in|there) "
        r"(?:for|by|at|around|about|before) "
        r"(?:\d|lunch|half|quarter|ten|eleven|twelve|nine|midday|dinner|break)",
        r"re:(?<!cant )(?<!cannot )(?<!not )(?<!couldnt )(?<!wont )(?<!unable to )\b(?:bring|bringing|drop|"
        r"dropping|take|taking|get|getting) (?:him|her|them) (?:in|into school|to school)\b",
        # pl
        "spozni*", "w drodze", "pozniej", "dojedziemy", "korek", "korki",
        # ro
        "intarzi*", "pe drum", "ajungem", "mai tarziu", "trafic",
        # es
        "llega* tarde", "vamos tarde", "mas tarde", "en camino", "de camino", "retraso", "atasco",
        # pt
        "atrasad*", "atraso", "a caminho", "mais tarde", "chegamos", "transito",
        # fr
        "en retard", "retard", "en route", "plus tard", "on arrive", "j arrive", "arrivera", "nous arrivons",
        "bouchon*", "embouteillage*",
        # lt
        "veluoj*", "veluos*", "pakeliui", "veliau", "atvyks", "kamst*", "kamsc*",
        # ur
        "der ho gayi", "der ho gai", "der se", "raste mein", "raste me", "thori der", "aa rahe",
        "aa raha", "aa rahi",
    ),
    "O": (
        "overslept", "over slept", "overslep*", "slept in", "sleep in", "woke up late", "alarm",
        "didnt wake", "shopping", "shop", "birthday", "bday", "b day", "day out", "day trip", "treat",
        "family day", "couldnt be bothered", "cant be bothered", "didnt want to", "doesnt want to",
        "dont want to", "wont go", "wont get up", "wouldnt get up", "refus*", "uniform", "haircut",
        "hair cut", "party", "concert", "theme park", "zoo", "staying with", "sleepover", "late night",
        "nits", "head lice", "headlice", "lice",
        r"re:\b(?:at|with) (?:his|her|their|my) "
        r"(?:nan|nana|nanna|gran|granny|grandma|grandad|grandparent|dad|"
        r"mum|aunt|auntie|aunty)s?\b",
        "stayed up", "tired", "zmeczon*", "cansad*", "obosit*", "pavarg*", "thaka", "thaki", "fatigue*",
        "babysit*", "no one to take", "nobody to take", "no childcare", "childcare",
        "at work", "moving house", "moved house", "house move", "wedding", "christmas", "xmas",
        # pl
        "zaspal*", "urodzin*", "zakup*", "nie chce", "nie chcial*", "wesele",
        # ro
        "a dormit", "am dormit", "adormit", "ziua lui", "ziua ei", "zi de nastere", "cumparaturi",
        "nu vrea", "nunta",
        # es
        "se quedo dormid*", "nos quedamos dormidos", "cumpleanos", "compras", "no quiere", "boda",
        # pt
        "adormec*", "dormiu demais", "aniversario", "nao quer", "casamento",
        # fr
        "panne de reveil", "pas reveille*", "anniversaire", "courses", "ne veut pas", "mariage",
        # lt
        "pramieg*", "gimtadien*", "apsipirk*", "nenori", "vestuv*",
        # ur
        "so gaya", "so gayi", "aankh nahi khuli", "salgirah", "saalgirah", "nahi jana", "nahi jaana",
        "shaadi", "shadi",
    ),
    "NONE": (
        "thanks", "thank you", "thankyou", "thx", "ta", "cheers", "ok", "okay", "k", "noted",
        "received", "got it", "who is this", "who is it", "whos this", "who are you", "wrong number",
        "wrong person", "call the office", "ring the office", "phone the office", "call you",
        "ring you", "call me", "ring me", "i will call", "i will ring", "i will phone",
        "not my child", "no child", "dont have a child", "what",
        "dziekuje", "dzieki", "kto to", "pomylka", "multumesc", "mersi", "cine este", "gracias",
        "quien es", "obrigad*", "quem e", "merci", "qui est ce", "aciu", "kas cia", "shukriya",
        "shukria", "kaun", "شكرا", "شکریہ",
    ),
}

# Highest first. Specific reasons beat LATE ("GP at 9.30 then she'll come in" is M); LATE beats the
# weaker reasons that come with it ("car wouldn't start, be there by 10"; "overslept, on our way").
_PRIORITY = ("IN_SCHOOL", "C", "R", "M", "I", "J1", "C1", "T", "G", "G@", "M?", "I?", "R?", "J1?",
             "LATE", "Y2", "Y1", "C?", "O", "G?", "NONE")

CONCERN: tuple[str, ...] = (
    # en: missing / whereabouts
    "gone missing", "is missing", "hes missing", "shes missing", "missing since", "reported missing",
    "missing person", "not home", "not been home", "not come home", "hasnt come home", "didnt come home",
    "never came home", "hasnt been home", "not back home", "stayed out", "dont know where",
    "dunno where", "no idea where", "cant find", "cannot find", "cant get hold of", "run away",
    "ran away", "runaway", "run off", "ran off", "where is he", "where is she",
    # en: bullying / violence / refusal / mental health
    "bully*", "bullied", "bulling", "picked on", "picking on", "pick on", "teased", "teasing",
    "name calling", "hitting", "hit him", "hit her", "hits him", "hits her", "punch*", "kicked",
    "kicking", "beat him", "beat her", "beaten", "assault*", "attacked", "threaten*", "threats",
    "refus*", "school refusal", "wont go", "wont come in", "will not go", "doesnt want to go",
    "dont want to go", "didnt want to go", "wouldnt go", "not going back", "scared", "afraid of",
    "afraid to", "frightened", "terrified", "anxious", "anxiety", "panic*", "worried about",
    "stressed", "overwhelmed", "upset about", "self harm", "selfharm", "self harming", "harming herself",
    "harming himself", "hurting herself", "hurting himself", "hurt herself", "hurt himself",
    "cutting herself", "cutting himself", "cut herself", "cut himself", "suicid*", "kill himself",
    "kill herself", "end his life", "end her life", "overdose", "depress*", "mental health",
    "low mood", "eating disorder",
    # en: home, police, services, caring
    "police", "arrested", "court", "custody", "domestic", "abuse*", "abusive", "violence", "violent",
    "hit me", "hits me", "social services", "social worker", "childrens services", "early help",
    "refuge", "womens aid", "homeless", "evicted", "eviction", "kicked out", "no food", "no electric",
    "no heating", "drunk", "alcohol", "drugs", "my ex", "ex partner", "his dad took", "her dad took",
    "taken him", "taken her", "wont bring him back", "wont bring her back", "not returned",
    "groom*", "exploit*", "stranger", "young carer", "babysit*",
    # pl
    "zagin*", "nie wrocil*", "nie ma go w domu", "nie ma jej w domu", "nie wiem gdzie", "uciekl*",
    "znecan*", "przesladowan*", "dokucza*", "bija", "bije", "pobil*", "przemoc*", "policj*", "boi sie",
    "strach", "nie chce isc", "nie chce chodzic", "odmawia", "samookalecz*", "samobo*", "depresj*",
    "opieka spoleczna", "opieki spolecznej", "mops", "pracownik socjalny", "opiekuje sie", "pilnuje",
    # ro
    "disparut*", "nu a venit acasa", "nu s a intors", "nu stiu unde", "a fugit", "agresat*", "batut*",
    "hartuit*", "politi*", "frica", "anxietat*", "refuz*", "nu vrea sa mearga", "automutil*",
    "sinucid*", "depresi*", "asistenta sociala", "protectia copilului", "are grija de",
    # es
    "desaparecid*", "no ha vuelto", "no volvio a casa", "no vino a casa", "no se donde", "se escapo",
    "acoso*", "acosan", "le pegan", "pegan", "golpe*", "policia", "violencia", "maltrato", "miedo",
    "ansiedad", "se niega", "no quiere ir", "autoles*", "depresion", "servicios sociales",
    "trabajador social", "trabajadora social", "cuida a su", "cuidando a su", "cuidar a su",
    # pt
    "nao voltou", "nao veio para casa", "nao sei onde", "fugiu", "bullying", "batem", "bateram",
    "agredid*", "medo", "ansiedade", "recusa*", "nao quer ir", "depressao", "servicos sociais",
    "assistente social", "cuidar do irmao", "cuidar da irma", "tomar conta",
    # fr
    "disparu*", "pas rentre*", "sais pas ou", "fugue", "harcel*", "frappe*", "peur", "angoisse*",
    "anxiete", "refuse", "ne veut pas aller", "services sociaux", "assistante sociale",
    "assistant social", "garder son frere", "garder sa soeur", "s occuper de",
    # lt
    "dingo", "dinges", "dingusi", "negrizo", "negrize", "nezinau kur", "pabego", "patyc*", "skriaud*",
    "musa", "smurt*", "policij*", "bijo", "baim*", "nerim*", "atsisako", "nenori eiti", "save zaloj*",
    "depresij*", "socialin*", "priziuri",
    # ur
    "gum ho", "gum hai", "lapata", "ghar nahi aaya", "ghar nahi aya", "ghar nahi ayi", "ghar nahi aayi",
    "pata nahi kahan", "pata nahi kidhar", "bhaag gaya", "bhag gaya", "dar lagta", "darta", "darti",
    "tang karte", "tang karti", "maarte", "marte", "jhagra", "ladai",
    "مفقود", "شرطة", "پولیس",
)

# A child caring for a sibling or parent: a concern, and any illness mentioned is someone else's.
_CARING = re.compile(
    r"\b(?:looking after|look after|looks after|caring for|care for|cares for|minding|mind|watching|"
    r"babysitting|babysit|help(?:ing)? (?:me )?with|helping me)\s+(?:his |her |their |the |my |our )?"
    r"(?:little |baby |younger |older |big |new |poorly |sick )?(?:brothers?|bro|sisters?|sis|siblings?|"
    r"baby|mum|mam|mummy|mom|dad|daddy|nan|nana|gran|grandma|grandad|twins|kids|children|me)\b"
)

# A parent saying *they* are ill: not the child's illness, and the child may be caring for them.
_PARENT_ILL = re.compile(
    r"\b(?:im|i m|i am|i was|i feel|ive been|i have been|(?:mum|mummy|mom|mam|mother|dad|daddy|father|"
    r"my husband|my wife|my partner|his mum|her mum|his dad|her dad)(?:s| is| was| has been))\s+"
    r"(?:(?:really|very|so|quite|not|feeling|also|too|bit|a|been|still|currently|myself|now)\s+){0,3}"
    r"(?:ill|unwell|poorly|sick|not well|in hospital|bed ?bound|bedridden|depressed)\b"
    r"|\b(?:ive got|i have got|i have|i got|i ve got|(?:mum|mummy|mom|mam|dad|daddy|my husband|my wife|"
    r"my partner)(?:s got| has| has got))\s+(?:the |a |bad |a bad |really bad )?"
    r"(?:covid|flu|migraine|an operation|surgery|a virus|sickness|the sickness bug|d&v)\b"
    r"|\b(?:jestem chor[ay]|mama jest chora|tata jest chory|sunt bolnav\w*|mama e bolnava|"
    r"estoy enferm[ao]|estou doente|je suis malade|as sergu|sergu|main bimar|mein bimar|mai bimar)\b"
)

# --------------------------------------------------------------------------------------------------
# Date tables
# --------------------------------------------------------------------------------------------------

TOMORROW = ("tomorrow", "tomoz", "tmrw", "tmr", "tmrow", "2moro", "2morrow", "2mrw", "tomo", "tomorow",
            "jutro", "manana", "maine", "demain", "amanha", "rytoj", "kal")
DAY_AFTER_TOMORROW = ("day after tomorrow", "pojutrze", "pasado manana", "poimaine", "apres demain",
                      "depois de amanha", "poryt", "parso", "parson")

WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("monday", "mon", "poniedzial*", "lunes", "luni", "lundi", "segunda", "pirmadien*", "pir"),
    1: ("tuesday", "tues", "tue", "wtorek", "wtorku", "martes", "marti", "mardi", "terca",
        "antradien*", "mangal"),
    2: ("wednesday", "weds", "wed", "wensday", "wenesday", "sroda", "srode", "srody", "miercoles",
        "miercuri", "mercredi", "quarta", "treciadien*", "budh"),
    3: ("thursday", "thurs", "thur", "thu", "czwartek", "czwartku", "jueves", "joi", "jeudi", "quinta",
        "ketvirtadien*", "jumeraat", "jumerat", "jumerat"),
    4: ("friday", "fri", "piatek", "piatku", "viernes", "vineri", "vendredi", "sexta", "penktadien*",
        "juma", "jumma", "jummah", "jumah"),
    5: ("saturday", "sobota", "sobote", "soboty", "sabado", "sambata", "samedi", "sestadien*"),
    6: ("sunday", "niedziela", "niedziele", "niedzieli", "domingo", "duminica", "dimanche",
        "sekmadien*", "itwaar", "itwar"),
}

MONTHS: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "stycznia", "styczen", "enero", "ianuarie", "janvier", "janeiro", "sausio"),
    2: ("february", "feb", "lutego", "luty", "febrero", "februarie", "fevrier", "fevereiro", "vasario"),
    3: ("march", "mar", "marca", "marzec", "marzo", "martie", "mars", "marco", "kovo"),
    4: ("april", "apr", "kwietnia", "kwiecien", "abril", "aprilie", "avril", "balandzio"),
    5: ("may", "maja", "maj", "mayo", "mai", "maio", "geguzes"),
    6: ("june", "jun", "czerwca", "czerwiec", "junio", "iunie", "juin", "junho", "birzelio"),
    7: ("july", "jul", "lipca", "lipiec", "julio", "iulie", "juillet", "julho", "liepos"),
    8: ("august", "aug", "sierpnia", "sierpien", "agosto", "aout", "rugpjucio"),
    9: ("september", "sep", "sept", "wrzesnia", "wrzesien", "septiembre", "setiembre", "septembrie",
        "septembre", "setembro", "rugsejo"),
    10: ("october", "oct", "pazdziernika", "pazdziernik", "octubre", "octombrie", "octobre", "outubro",
         "spalio"),
    11: ("november", "nov", "listopada", "listopad", "noviembre", "noiembrie", "novembre", "novembro",
         "lapkricio"),
    12: ("december", "dec", "grudnia", "grudzien", "diciembre", "decembrie", "decembre", "dezembro",
         "gruodzio"),
}

NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "jeden": 1, "dwa": 2, "dwie": 2, "trzy": 3, "cztery": 4, "piec": 5,
    "un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "o": 1, "doua": 2, "trei": 3, "patru": 4, "cinci": 5,
    "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "um": 1, "uma": 1, "dois": 2, "duas": 2, "quatro": 4,
    "viena": 1, "dvi": 2, "dvieju": 2, "tris": 3, "keturias": 4, "penkias": 5,
    "ek": 1, "teen": 3, "char": 4, "panch": 5,
}
DAY_UNITS = ("day", "days", "dni", "dzien", "dzień", "dia", "dias", "zile", "zi", "jour", "jours",
             "diena", "dienas", "dienu", "dienas", "din")
HOUR_UNITS = ("hours", "hour", "hrs", "hr", "godzin", "godziny", "horas", "ore", "heures", "valandu",
              "valandas", "ghante", "ghantay")
WEEK_UNITS = ("week", "weeks", "tydzien", "tygodnie", "tygodni", "semana", "semanas", "saptamana",
              "saptamani", "semaine", "semaines", "savaite", "savaites", "savaiciu", "hafta", "hafte")

# Phrases meaning "the rest of this week": the child is back on the first school day of next week.
REST_OF_WEEK = (
    "rest of the week", "rest of this week", "rest of week", "all week", "whole week", "for the week",
    "till the weekend", "until the weekend", "til the weekend", "to the weekend", "after the weekend",
    "end of the week", "end of this week", "over the weekend", "after weekend",
    "reszta tygodnia", "reszte tygodnia", "do konca tygodnia", "caly tydzien", "po weekendzie",
    "resto de la semana", "toda la semana", "despues del fin de semana", "restul saptamanii",
    "toata saptamana", "dupa weekend", "reste de la semaine", "toute la semaine",
    "apres le week end", "resto da semana", "toda a semana", "depois do fim de semana", "visa savaite",
    "iki savaites pabaigos", "po savaitgalio", "poora hafta", "pura hafta", "weekend ke baad",
)
NEXT_WEEK = ("next week", "przyszlym tygodniu", "przyszly tydzien", "la semana que viene",
             "la proxima semana", "saptamana viitoare", "semaine prochaine", "proxima semana",
             "semana que vem", "kita savaite", "agle hafte", "agle hafta")

def _words(text: str) -> frozenset[str]:
    """A set of words written as one string, for the long word lists below."""
    return frozenset(text.split())


# Words before a date that say it is when the child is back (preferred over other dates).
RETURN_CUES = _words("""back return returns returning returned till until til untill by from
    hopefully wraca wroci wrocic bedzie do vuelve volvera regresa hasta revine intoarce pana
    reviendra revient retour jusqu volta voltara regressa ate grizta grys iki wapas tak rest""")
# Words before a date that make it the start of the illness, not the return.
SINCE_CUES = _words("since last past ago desde depuis nuo od din")
# A date right after these is the appointment's, not the return's.
APPOINTMENT_NOUNS = _words("""appointment appt appointments operation surgery wizyta wizyte
    programare cita consulta rendez rdv vizitas""")
# Words that negate "in"/"tomorrow": "won't be in tomorrow" -> back the day after.
NEGATIONS = _words("not wont cant isnt doesnt dont wouldnt off nie nu no pas nao ne nahi nahin")
# Past-tense cues: "he's had d&v for 2 days" is a history, not a return date.
PAST_CUES = _words("been had has have was ago last past since tha thi hua hui")
# Same-day return: "I'll bring him in after", "she'll come in after".
_SAME_DAY = re.compile(
    r"\b(?:come|comes|coming|bring|bringing|drop|dropping|be|take|taking|send|sending|get|getting)\s+"
    r"(?:(?:him|her|them)\s+)?(?:back\s+)?(?:in|into school|to school|there)\b"
    r"(?!\s+(?:soon|when|once|tomorrow|next))"
    r"|\b(?:back|in) (?:after lunch|this afternoon|for the afternoon|later|after)\b|\blater today\b"
)

# The words a typo is corrected towards: long, often misspelt words from the tables above. Only these
# (not every vocabulary word) so that real words are left alone: "concern" is one letter from
# "concert", "stopping" from "shopping", "violently" from "violent".
TYPO_TARGETS = (
    # illness and medical
    "temperature", "vomiting", "vomited", "diarrhoea", "diarrhea", "headache", "headaches",
    "tonsillitis", "migraine", "infection", "chickenpox", "sickness", "stomach", "asthma", "poorly",
    "feverish", "coughing", "covid", "coronavirus", "injured", "sprained", "fractured", "antibiotics",
    "conjunctivitis", "norovirus", "earache", "toothache", "tummy", "unwell", "illness", "hospital",
    "appointment", "orthodontist", "dentist", "optician", "opticians", "vaccination", "physiotherapy",
    "paediatrician", "doctors", "recovering", "exhausted", "anxious", "anxiety", "depressed",
    # other reasons
    "funeral", "bereavement", "passed", "holiday", "holidays", "interview", "overslept", "birthday",
    "flooding", "flooded", "transport", "traveller", "travellers", "performance", "audition",
    "religious", "festival", "running", "minutes",
    # concerns
    "bullied", "bullying", "refuses", "refused", "refusing", "missing", "social", "services",
    "self", "harming", "police", "violence", "domestic", "frightened",
    # dates
    "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday", "weekend", "december",
    "january", "february", "september", "october", "november",
)

# Real English words one typo from a TYPO_TARGETS word, found by running the corrector over a British
# word list: never "correct" these ("building" is not "bullying", "policy" is not "police").
COMMON_WORDS = _words("""
    addiction addition additions ambition anointment auditing belaying bellied building bulled
    chugging coaching congaing couching counting coupling coursing courting crouching crushing
    deceiver decreased digressed doctoral doctored domestics exhausts factored featured festively
    floating flocking flogging floored flooring flopping flossing flouring flouting frighted funereal
    hamming haring harking harping harrying heartache hoarding hospitable idleness inaction inception
    incurred induction infarction inflation inflection infliction infraction ingestion inquired
    insertion inspection insured intention inured invention massing messing migrating minuets minuses
    minute minuted minutely misdoing missions misting moussing mussing nonmember overspent overstep
    parsed passel passer passes pasted paused pissed policed polices policies policy polite poultice
    rebuking rebuses recluses reconvening reducing refiling refining refocused refunded refunding
    refuted refutes refuting refugees refuges religions reposing repulsed reputing rerunning resuming
    reused reuses reusing revering revising rounding ruining service serviced servings sociable
    socially societal spiciness sprawled sprinted stickiness slickness slackness strained strainer
    survives temperate transform transpire transpose virulence weakened weekended
    polsce
""")

# --------------------------------------------------------------------------------------------------
# Normalisation and matching
# --------------------------------------------------------------------------------------------------

_ILL_MEANS_I_WILL = (r"(?:call|ring|phone|let|be|bring|take|send|try|pop|get|text|keep|do|see|speak|drop|"
                     r"come|update|pick|email|contact|check|find|sort|have|need|give|make)")
_FOLD = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "æ": "ae", "œ": "oe", "ß": "ss",
                       "đ": "d", "ı": "i", "’": "'", "‘": "'", "`": "'", "´": "'", "ʼ": "'",
                       "–": "-", "—": "-"})
_TOKEN = re.compile(r"[^\W_]+(?:&[^\W_]+)?")
_LATIN = re.compile(r"^[a-z0-9&*\s]+$")


def _fold(text: str) -> str:
    """Lower-case and drop diacritics: "Gorączkę" -> "goraczke", "Zoë" -> "zoe"."""
    t = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in t if not unicodedata.combining(c)).lower()


def _normalise(text: str) -> str:
    """Fold, and expand or glue contractions so every table entry is written one way."""
    t = _fold(text)
    # "I'll" must not read as "ill": expand the contractions that make other words, glue the rest
    for short, full in (("ll", " will"), ("re", " are"), ("ve", " have"), ("m", " am"), ("d", " would")):
        t = re.sub(rf"(?<=[a-z])'{short}\b", full, t)
    t = re.sub(r"(?<=[a-z])'(s|t)\b", r"\1", t)  # won't -> wont, he's -> hes
    t = re.sub(rf"\bill (?={_ILL_MEANS_I_WILL}\b)", "i will ", t)  # "Ill call you" without apostrophe
    t = t.replace("'", " ")
    t = re.sub(r"\b([ad])\s*(?:&|\+|\band\b)\s*([ev])\b", r"\1&\2", t)  # d and v -> d&v, a & e -> a&e
    t = re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", t)  # self-harm -> self harm, rendez-vous
    return re.sub(r"\s+", " ", t).strip()


@dataclass(frozen=True)
class _Compiled:
    """One table compiled for fast matching."""

    words: frozenset[str]
    stems: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]


def _phrase_regex(phrase: str) -> str:
    parts = [re.escape(p[:-1]) + r"\w*" if p.endswith("*") else re.escape(p) for p in phrase.split()]
    return r"(?<![\w&])" + r"\s+".join(parts) + (r"" if phrase.endswith("*") else r"(?![\w&])")


def _compile(entries: Iterable[str]) -> _Compiled:
    words: set[str] = set()
    stems: list[str] = []
    patterns: list[re.Pattern[str]] = []
    for entry in entries:
        if entry.startswith("re:"):
            patterns.append(re.compile(entry[3:]))
            continue
        e = _normalise(entry.rstrip("*")) + ("*" if entry.endswith("*") else "")
        if not _LATIN.match(e):
            patterns.append(re.compile(re.escape(e)))
        elif " " in e:
            patterns.append(re.compile(_phrase_regex(e)))
        elif e.endswith("*"):
            stems.append(e[:-1])
        else:
            words.add(e)
    return _Compiled(frozenset(words), tuple(stems), tuple(patterns))


def _matches(table: _Compiled, text: str, tokens: list[str]) -> bool:
    if any(t in table.words for t in tokens):
        return True
    if any(t.startswith(s) for t in tokens for s in table.stems):
        return True
    return any(p.search(text) for p in table.patterns)


_TABLES = {code: _compile(entries) for code, entries in VOCAB.items()}
_CONCERN = _compile(CONCERN)
_WEEKDAY_TABLES = {d: _compile(words) for d, words in WEEKDAYS.items()}


def _known_single_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """All single vocabulary words and stems: what the spell corrector may correct towards."""
    words: set[str] = set()
    stems: set[str] = set()
    tables = [*_TABLES.values(), _CONCERN, *_WEEKDAY_TABLES.values()]
    for table in tables:
        words |= table.words
        stems |= set(table.stems)
    for group in (TOMORROW, *MONTHS.values(), REST_OF_WEEK, NEXT_WEEK):
        for w in group:
            words |= set(_normalise(w).split())
    return frozenset(words), tuple(sorted(stems))


_KNOWN_WORDS, _KNOWN_STEMS = _known_single_words()
_CORRECTION_TARGETS = tuple(sorted(w for w in TYPO_TARGETS if len(w) >= 5))


@lru_cache(maxsize=4096)
def _correct(token: str) -> str | None:
    """The vocabulary word one typo from `token` (two for long words), or None."""
    if len(token) < 5 or not token.isalpha() or token in COMMON_WORDS or token in _KNOWN_WORDS:
        return None
    if any(token.startswith(s) for s in _KNOWN_STEMS):
        return None
    limit = 1 if len(token) < 8 else 2
    candidates = [w for w in _CORRECTION_TARGETS if w[0] == token[0] and abs(len(w) - len(token)) <= limit]
    if not candidates:
        return None
    best = min(candidates, key=lambda w: (OSA.distance(token, w), w))
    return best if OSA.distance(token, best) <= limit else None


def _spell_correct(text: str) -> tuple[str, bool]:
    """Replace typo'd words by the vocabulary word they were meant to be; say if any changed."""
    changed = False

    def fix(m: re.Match[str]) -> str:
        nonlocal changed
        better = _correct(m.group(0))
        if better is None:
            return m.group(0)
        changed = True
        return better

    return _TOKEN.sub(fix, text), changed


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Understanding:
    """What a reply says: suggested code, day back, whether it is a welfare worry, and how sure."""

    code: str
    return_date: date | None
    concern: bool
    confidence: float

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "return_date": self.return_date.isoformat() if self.return_date else None,
            "concern": self.concern,
            "confidence": round(self.confidence, 2),
        }


def _weekdays_only(day: date) -> bool:
    return day.weekday() < 5


def understand(
    text: str, today: date, *, is_school_day: Callable[[date], bool] | None = None
) -> Understanding:
    """Understand a parent's reply received on `today`."""
    school_day = is_school_day or _weekdays_only
    raw = _normalise(text)
    bare = re.sub(r"[^\w]", "", raw)
    if bare in OPT_OUT:
        return Understanding("STOP", None, False, 0.99)
    if bare in OPT_IN:
        return Understanding("START", None, False, 0.99)

    norm, corrected = _spell_correct(raw)
    parent_ill, caring = _PARENT_ILL.search(norm), _CARING.search(norm)
    # The parent's own illness is not the child's: take it out before looking for reasons.
    reason_text = _PARENT_ILL.sub(" ", norm) if parent_ill else norm
    tokens = _TOKEN.findall(reason_text)
    found = [code for code in _PRIORITY if _matches(_TABLES[code], reason_text, tokens)]
    if caring:  # "looking after her sister as the baby is sick": the child is not the one ill
        found = [c for c in found if c not in ("I", "I?")]

    concern = bool(parent_ill or caring) or _matches(_CONCERN, norm, _TOKEN.findall(norm))
    code, confidence = _choose_code(found, concern)
    if code == "IN_SCHOOL":
        concern = True
    if corrected:
        confidence -= 0.1

    return_date = None
    if code not in ("IN_SCHOOL", "NONE"):
        return_date = _return_date(norm, today, school_day, late=code == "LATE")
    return Understanding(code, return_date, concern, max(0.05, min(confidence, 1.0)))


def _choose_code(found: list[str], concern: bool) -> tuple[str, float]:
    """Pick the highest-priority code found; fewer rival reasons means more confidence."""
    reasons = [c for c in found if c != "NONE"]
    if not reasons:
        if concern:
            return "O", 0.6
        return "NONE", 0.8 if found else 0.3
    best = reasons[0]
    if concern and best in ("G?", "C?", "R?", "J1?"):
        return "O", 0.6  # "she ran away last night": a worry, not a weak reason
    confidence = 0.6 if best.endswith("?") else 0.9
    rivals = {c.rstrip("?@") for c in reasons[1:]} - {best.rstrip("?@"), "LATE", "O", "G", "Y1"}
    confidence -= 0.1 * min(len(rivals), 3)
    return best.rstrip("?@"), confidence


def children_named(text: str, first_names: Iterable[str]) -> list[str]:
    """Which of `first_names` the text mentions, in the order given.

    Case-insensitive and accent-insensitive; a name of five letters or more may have one typo
    ("Isabell" for "Isabelle"), unless the word is exactly another of the names (Sophie vs Sophia).
    """
    names = list(dict.fromkeys(first_names))
    tokens = _TOKEN.findall(_fold(re.sub(r"['’]s\b", "", text)))  # "Zoë's" -> "zoe"
    folded = {name: " ".join(_TOKEN.findall(_fold(name))) for name in names}
    exact_names = set(folded.values())
    found = []
    for name in names:
        target = folded[name]
        if not target:
            continue
        parts = target.split()
        n = len(parts)
        windows = [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
        typo_ok = len(target.replace(" ", "")) >= 5
        if target in windows or typo_ok and any(
            w not in exact_names and abs(len(w) - len(target)) <= 1 and OSA.distance(w, target) <= 1
            for w in windows
        ):
            found.append(name)
    return found


# --------------------------------------------------------------------------------------------------
# Return dates
# --------------------------------------------------------------------------------------------------


def _roll_forward(day: date, school_day: Callable[[date], bool]) -> date | None:
    """The first school day on or after `day` (a year ahead at most: outside term there may be none)."""
    for _ in range(366):
        if school_day(day):
            return day
        day += timedelta(days=1)
    return None


def _add_school_days(day: date, n: int, school_day: Callable[[date], bool]) -> date | None:
    for _ in range(n):
        nxt = _roll_forward(day + timedelta(days=1), school_day)
        if nxt is None:
            return None
        day = nxt
    return day


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _weekday_of(token: str) -> int | None:
    for day, table in _WEEKDAY_TABLES.items():
        if token in table.words or any(token.startswith(s) for s in table.stems):
            return day
    return None


_MONTH_OF = {_normalise(w): n for n, words in MONTHS.items() for w in words}
_MONTH_RE = "|".join(sorted(_MONTH_OF, key=len, reverse=True))
_DATE_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of|de|d))?\s+({_MONTH_RE})\b")
_UNITS_RE = "|".join(sorted({*DAY_UNITS, *HOUR_UNITS, *WEEK_UNITS}, key=len, reverse=True))
_DATE_MONTH_DAY = re.compile(
    rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:am|pm|[:.]\d|{_UNITS_RE}\b))"
)
_DATE_NUMERIC = re.compile(r"\b(\d{1,2})([/.\-])(\d{1,2})(?:[/.\-](\d{2,4}))?\b")
_ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:birthday|time|year|floor|of))")
_UNTIL_NUMBER = re.compile(
    r"\b(?:till|until|til|untill|do|hasta el|hasta|pana pe|pana la|pana in|jusqu au|jusqu a|ate ao dia|"
    r"ate dia|ate|iki)\s+(?:the\s+)?(\d{1,2})\b(?!\s*(?:[:.]\d|am|pm|h\b|o clock|hours|hrs|godz|ore|"
    r"horas|heures|valand|days|dni|dias|zile|jours|dien|mins?|minutes))"
)
_AMOUNT = re.compile(rf"\b(\d{{1,3}}|{'|'.join(NUMBER_WORDS)}|do)\s+({_UNITS_RE})\b")
_TOMORROW_RE = re.compile(r"\b(?:" + "|".join(TOMORROW) + r")\b")
_DAY_AFTER_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, DAY_AFTER_TOMORROW)) + r")\b")
_REST_OF_WEEK_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, REST_OF_WEEK)) + r")\b")
_THIS_WEEK_RE = re.compile(r"\b(?:off|out|away|home|not in)\b(?:\s+\w+){0,2}\s+this week\b")
_NEXT_WEEK_RE = re.compile(r"(?<!last )\b(?:" + "|".join(map(re.escape, NEXT_WEEK)) + r")\b")


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    day: date
    cued: bool  # preceded by a word like "back" or "till"


def _before(text: str, start: int, n: int = 4) -> list[str]:
    """The last `n` words before position `start`, nearest last."""
    return _TOKEN.findall(text[:start])[-n:]


def _after(text: str, end: int, n: int = 4) -> list[str]:
    return _TOKEN.findall(text[end:])[:n]


def _is_cued(text: str, start: int) -> bool:
    return any(w in RETURN_CUES for w in _before(text, start, 3))


def _skip_as_past_or_appointment(text: str, start: int) -> bool:
    """'ill since Monday', 'appointment on Thursday': not the day the child is back."""
    before = _before(text, start, 3)
    if before and before[-1] in SINCE_CUES:
        return not (before[-1] in ("od", "din") and any(w in RETURN_CUES - {"do"} for w in before))
    return any(w in APPOINTMENT_NOUNS for w in before) and not any(w in RETURN_CUES for w in before)


def _month_day(today: date, month: int, day: int, year: int | None = None) -> date | None:
    """The date with that month and day, this year or (when already past) next year."""
    try:
        if year is not None:
            return date(year + 2000 if year < 100 else year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _day_of_month(today: date, day: int) -> date | None:
    """'till the 4th': the next 4th after today (this month or the one after)."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate and candidate > today:
            return candidate
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


def _tomorrow_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    found = []
    for m in _DAY_AFTER_RE.finditer(text):
        day = _roll_forward(today + timedelta(days=2), sd)
        if day:
            found.append(_Candidate(m.start(), m.end(), day, _is_cued(text, m.start())))
    for m in _TOMORROW_RE.finditer(text):
        if any(c.start <= m.start() < c.end for c in found):
            continue
        before, after = _before(text, m.start(), 4), _after(text, m.end(), 5)
        word = m.group(0)
        if word == "manana" and before and before[-1] in ("esta", "la"):
            continue  # "esta mañana" is this morning
        if word == "kal" and (after[:1] and after[0] in ("raat", "rat", "se", "sy", "sey", "shaam")
                              or any(w in PAST_CUES for w in after)):
            continue  # "kal raat" last night, "kal se" since yesterday, "kal ... tha" yesterday
        first = _first_cue(before)
        extra = first == "neg" or (before[-2:] in (["today", "and"], ["today", "or"])) \
            or (after[:1] and after[0] in ("too", "as", "also", "either"))
        day = _add_school_days(today, 2 if extra else 1, sd)
        if day:
            found.append(_Candidate(m.start(), m.end(), day, first == "cue"))
    return found


def _first_cue(before: list[str]) -> str | None:
    """Scanning back from a date: is the nearest telling word a return cue or a negation?"""
    for w in reversed(before):
        if w in RETURN_CUES:
            return "cue"
        if w in NEGATIONS:
            return "neg"
    return None


def _amount_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    """'48 hours', '2 days', 'a week' from today."""
    found = []
    for m in _AMOUNT.finditer(text):
        number, unit = m.group(1), m.group(2)
        if number == "do" and unit not in ("din", "ghante", "hafte", "hafta"):
            continue
        n = int(number) if number.isdigit() else NUMBER_WORDS.get(number, 2)
        before, after = _before(text, m.start(), 4), _after(text, m.end(), 2)
        if before and before[-1] in ("times", "once", "twice", "per", "every", "each", "few", "couple"):
            continue
        if after[:1] and after[0] in ("ago", "now", "already", "old"):
            continue
        if _first_past_cue(before):
            continue
        if unit in HOUR_UNITS:
            day = _roll_forward(today + timedelta(days=(n + 23) // 24 if n >= 24 else 0), sd)
        elif unit in WEEK_UNITS:
            day = _roll_forward(today + timedelta(days=7 * n), sd)
        else:
            day = _add_school_days(today, n, sd)
        if day:
            found.append(_Candidate(m.start(), m.end(), day, _is_cued(text, m.start())))
    return found


def _first_past_cue(before: list[str]) -> bool:
    """'he's had d&v for 2 days' is history; 'has d&v so off 2 days' is the future."""
    for w in reversed(before):
        if w in PAST_CUES:
            return True
        if w in RETURN_CUES or w in NEGATIONS or w in ("off", "keep", "keeping", "stay", "staying", "out"):
            return False
    return False


def _named_day_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    """Weekday names, explicit dates, 'till the 4th', week phrases."""
    found: list[_Candidate] = []

    def add(start: int, end: int, day: date | None) -> None:
        if day is None or any(c.start <= start < c.end for c in found):
            return
        if _skip_as_past_or_appointment(text, start):
            return
        rolled = _roll_forward(day, sd)
        if rolled:
            found.append(_Candidate(start, end, rolled, _is_cued(text, start)))

    for m in _DATE_DAY_MONTH.finditer(text):
        add(m.start(), m.end(), _month_day(today, _MONTH_OF[m.group(2)], int(m.group(1))))
    for m in _DATE_MONTH_DAY.finditer(text):
        add(m.start(), m.end(), _month_day(today, _MONTH_OF[m.group(1)], int(m.group(2))))
    for m in _DATE_NUMERIC.finditer(text):
        day, sep, month, year = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
        if sep != "/" and not year and not _is_cued(text, m.start()):
            continue  # "9.30" is a time; "do 12.12" is a date
        if 1 <= month <= 12:
            add(m.start(), m.end(), _month_day(today, month, day, int(year) if year else None))
    for m in _ORDINAL.finditer(text):
        add(m.start(), m.end(), _day_of_month(today, int(m.group(1))))
    for m in _UNTIL_NUMBER.finditer(text):
        add(m.start(1), m.end(), _day_of_month(today, int(m.group(1))))
    for regex in (_REST_OF_WEEK_RE, _THIS_WEEK_RE, _NEXT_WEEK_RE):
        for m in regex.finditer(text):
            add(m.start(), m.end(), _next_monday(today))
    for m in _TOKEN.finditer(text):
        weekday = _weekday_of(m.group(0))
        if weekday is not None and not any(c.start <= m.start() < c.end for c in found):
            ahead = (weekday - today.weekday() - 1) % 7 + 1
            add(m.start(), m.end(), today + timedelta(days=ahead))
    return found


def _return_date(text: str, today: date, sd: Callable[[date], bool], *, late: bool) -> date | None:
    """The school day the child is back, or None when the reply does not say."""
    candidates = [
        *_tomorrow_candidates(text, today, sd),
        *_amount_candidates(text, today, sd),
        *_named_day_candidates(text, today, sd),
    ]
    if candidates:
        cued = [c for c in candidates if c.cued]
        return max(cued or candidates, key=lambda c: c.start).day
    if late or _same_day_return(text):
        return _roll_forward(today, sd)
    return None


def _same_day_return(text: str) -> bool:
    """'I'll bring him in after', 'she'll come in', not 'he won't come in'."""
    for m in _SAME_DAY.finditer(text):
        before = _before(text, m.start(), 3)
        if not any(w in NEGATIONS or w.startswith(("refus", "scared", "afraid", "frighten")) for w in before):
            return True
    return False
