"""Vocabulary the rule reader matches: words and phrases per attendance code and language.

Data only (the matching is in ``bot.replies.text`` and ``bot.replies.rules``). Kept apart from code
so that adding a phrasing never touches logic, and so reviewers can read the tables on their own.
The learned reader (``bot.replies.reader``) does most of the understanding now; these tables stay
for what rules do exactly and explainably: explicit reasons named in so many words.

Long because: it is data, one table per code in every language families write in; splitting it by
language would scatter each code's words over many files.
"""

import re


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one string, for the long word lists below."""
    return frozenset(text.split())


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

# "Ill call you", "ill bring her in": "ill" before these verbs is "I'll" typed without the apostrophe.
ILL_MEANS_I_WILL_BEFORE = ("call", "ring", "phone", "let", "be", "bring", "take", "send", "try", "pop", "get",
                           "text", "keep", "do", "see", "speak", "drop", "come", "update", "pick", "email",
                           "contact", "check", "find", "sort", "have", "need", "give", "make")
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
PRIORITY = ("IN_SCHOOL", "C", "R", "M", "I", "J1", "C1", "T", "G", "G@", "M?", "I?", "R?", "J1?",
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
CARING = re.compile(
    r"\b(?:looking after|look after|looks after|caring for|care for|cares for|minding|mind|watching|"
    r"babysitting|babysit|help(?:ing)? (?:me )?with|helping me)\s+(?:his |her |their |the |my |our )?"
    r"(?:little |baby |younger |older |big |new |poorly |sick )?(?:brothers?|bro|sisters?|sis|siblings?|"
    r"baby|mum|mam|mummy|mom|dad|daddy|nan|nana|gran|grandma|grandad|twins|kids|children|me)\b"
)

# A parent saying *they* are ill: not the child's illness, and the child may be caring for them.
PARENT_ILL = re.compile(
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


# "Not ill, just tired": an illness the parent denies is not a reason; the rules ignore it.
NEGATED_ILLNESS = re.compile(
    r"\b(?:not|isnt|wasnt|aint|hes not|shes not|he is not|she is not|no)\s+(?:really |actually |even )?"
    r"(?:ill|sick|poorly|poorley|unwell)\b"
    r"|\bnie (?:jest|byl|byla) chor\w*|\bnu (?:e|este) bolnav\w*|\bno esta enferm[ao]\b|\bnao esta doente\b"
    r"|\bn est pas malade\b|\bnesirg\w*|\bneserga\b|\bbimar nahi\b|\bhasta degil\b|\bне боле\w*"
    r"|\bне хвор\w*|\bma buka\b|بیمار نہیں|مش مريض|مو مريض|অসুস্থ না|ਬਿਮਾਰ ਨਹੀਂ"
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
COMMON_WORDS = word_set("""
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

