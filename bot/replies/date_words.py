"""Words the date grammar (``bot.replies.dates``) reads, per language. Data only.

Long because: it is data, one table per kind of date word with every language families write in
side by side (like ``bot.replies.vocabulary``); split by language, a day's words would be scattered.
"""

import re

from bot.replies.vocabulary import word_set

# --------------------------------------------------------------------------------------------------
# Date tables
# --------------------------------------------------------------------------------------------------

TOMORROW = (
    "tomorrow",
    "tomoz",
    "tmrw",
    "tmr",
    "tmrow",
    "2moro",
    "2morrow",
    "2mrw",
    "tomo",
    "tomorow",
    "jutro",
    "manana",
    "maine",
    "demain",
    "amanha",
    "rytoj",
    "kal",
    "завтра",
    "yarin",
    "berri",
    "berrito",
)
DAY_AFTER_TOMORROW = (
    "day after tomorrow",
    "pojutrze",
    "pasado manana",
    "poimaine",
    "apres demain",
    "depois de amanha",
    "poryt",
    "parso",
    "parson",
    "послезавтра",
    "післязавтра",
    "yarindan sonra",
    "berri dambe",
)

WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: (
        "monday",
        "mon",
        "poniedzial*",
        "lunes",
        "luni",
        "lundi",
        "segunda",
        "pirmadien*",
        "pir",
        "понедельн*",
        "понеділ*",
        "pazartesi",
        "isniin*",
        "somvaar",
        "somvar",
        "peer",
    ),
    1: (
        "tuesday",
        "tues",
        "tue",
        "wtorek",
        "wtorku",
        "martes",
        "marti",
        "mardi",
        "terca",
        "antradien*",
        "mangal",
        "вторник*",
        "вівтор*",
        "sali",
        "talaado*",
        "mangalvaar",
    ),
    2: (
        "wednesday",
        "weds",
        "wed",
        "wensday",
        "wenesday",
        "sroda",
        "srode",
        "srody",
        "miercoles",
        "miercuri",
        "mercredi",
        "quarta",
        "treciadien*",
        "budh",
        "сред*",
        "серед*",
        "carsamba",
        "arbaco*",
        "budhvaar",
    ),
    3: (
        "thursday",
        "thurs",
        "thur",
        "thu",
        "czwartek",
        "czwartku",
        "jueves",
        "joi",
        "jeudi",
        "quinta",
        "ketvirtadien*",
        "jumeraat",
        "jumerat",
        "четверг*",
        "четвер*",
        "persembe",
        "khamiis*",
        "veervaar",
        "virvaar",
    ),
    4: (
        "friday",
        "fri",
        "piatek",
        "piatku",
        "viernes",
        "vineri",
        "vendredi",
        "sexta",
        "penktadien*",
        "juma",
        "jumma",
        "jummah",
        "jumah",
        "пятниц*",
        "ятниц*",
        "cuma",
        "jimce*",
        "jimco*",
        "shukarvaar",
    ),
    5: (
        "saturday",
        "sobota",
        "sobote",
        "soboty",
        "sabado",
        "sambata",
        "samedi",
        "sestadien*",
        "суббот*",
        "субот*",
        "cumartesi",
        "sabti*",
    ),
    6: (
        "sunday",
        "niedziela",
        "niedziele",
        "niedzieli",
        "domingo",
        "duminica",
        "dimanche",
        "sekmadien*",
        "itwaar",
        "itwar",
        "воскресен*",
        "неділ*",
        "pazar",
        "axad*",
    ),
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
    9: (
        "september",
        "sep",
        "sept",
        "wrzesnia",
        "wrzesien",
        "septiembre",
        "setiembre",
        "septembrie",
        "septembre",
        "setembro",
        "rugsejo",
    ),
    10: (
        "october",
        "oct",
        "pazdziernika",
        "pazdziernik",
        "octubre",
        "octombrie",
        "octobre",
        "outubro",
        "spalio",
    ),
    11: (
        "november",
        "nov",
        "listopada",
        "listopad",
        "noviembre",
        "noiembrie",
        "novembre",
        "novembro",
        "lapkricio",
    ),
    12: (
        "december",
        "dec",
        "grudnia",
        "grudzien",
        "diciembre",
        "decembrie",
        "decembre",
        "dezembro",
        "gruodzio",
    ),
}

NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "jeden": 1,
    "dwa": 2,
    "dwie": 2,
    "trzy": 3,
    "cztery": 4,
    "piec": 5,
    "un": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "o": 1,
    "doua": 2,
    "trei": 3,
    "patru": 4,
    "cinci": 5,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "um": 1,
    "uma": 1,
    "dois": 2,
    "duas": 2,
    "quatro": 4,
    "viena": 1,
    "dvi": 2,
    "dvieju": 2,
    "tris": 3,
    "keturias": 4,
    "penkias": 5,
    "ek": 1,
    "teen": 3,
    "char": 4,
    "panch": 5,
}
DAY_UNITS = (
    "day",
    "days",
    "dni",
    "dzien",
    "dzień",
    "dia",
    "dias",
    "zile",
    "zi",
    "jour",
    "jours",
    "diena",
    "dienas",
    "dienu",
    "dienas",
    "din",
)
HOUR_UNITS = (
    "hours",
    "hour",
    "hrs",
    "hr",
    "godzin",
    "godziny",
    "horas",
    "ore",
    "heures",
    "valandu",
    "valandas",
    "ghante",
    "ghantay",
)
WEEK_UNITS = (
    "week",
    "weeks",
    "tydzien",
    "tygodnie",
    "tygodni",
    "semana",
    "semanas",
    "saptamana",
    "saptamani",
    "semaine",
    "semaines",
    "savaite",
    "savaites",
    "savaiciu",
    "hafta",
    "hafte",
)

# Phrases meaning "the rest of this week": the child is back on the first school day of next week.
REST_OF_WEEK = (
    "rest of the week",
    "rest of this week",
    "rest of week",
    "all week",
    "whole week",
    "for the week",
    "till the weekend",
    "until the weekend",
    "til the weekend",
    "to the weekend",
    "after the weekend",
    "end of the week",
    "end of this week",
    "over the weekend",
    "after weekend",
    "reszta tygodnia",
    "reszte tygodnia",
    "do konca tygodnia",
    "caly tydzien",
    "po weekendzie",
    "resto de la semana",
    "toda la semana",
    "despues del fin de semana",
    "restul saptamanii",
    "toata saptamana",
    "dupa weekend",
    "reste de la semaine",
    "toute la semaine",
    "apres le week end",
    "resto da semana",
    "toda a semana",
    "depois do fim de semana",
    "visa savaite",
    "iki savaites pabaigos",
    "po savaitgalio",
    "poora hafta",
    "pura hafta",
    "weekend ke baad",
    "до конца недели",
    "до кінця тижня",
    "hafta sonuna kadar",
    "toddobaadkan",
)
NEXT_WEEK = (
    "next week",
    "przyszlym tygodniu",
    "przyszly tydzien",
    "la semana que viene",
    "la proxima semana",
    "saptamana viitoare",
    "semaine prochaine",
    "proxima semana",
    "semana que vem",
    "kita savaite",
    "agle hafte",
    "agle hafta",
    "new week",
    "следующей неделе",
    "наступного тижня",
    "наступному тижні",
    "gelecek hafta",
    "haftaya",
    "toddobaadka soo socda",
)

# The calendar itself: the first school day after the next holiday, after Christmas, after Easter.
AFTER_BREAK = (
    "after half term",
    "after the half term",
    "after the break",
    "after the holidays",
    "after the hols",
    "after the holiday",
    "after half terms",
    "po feriach",
    "po przerwie",
    "dupa vacanta",
    "despues de las vacaciones",
    "depois das ferias",
    "apres les vacances",
    "po atostogu",
    "после каникул",
    "після канікул",
    "tatilden sonra",
    "chuttiyon ke baad",
    "chhutiyon ke baad",
    "fasaxa kadib",
    "fasaxa ka dib",
)
AFTER_CHRISTMAS = (
    "after christmas",
    "after xmas",
    "after the new year",
    "after new year",
    "in the new year",
    "po swietach",
    "po nowym roku",
    "dupa craciun",
    "dupa sarbatori",
    "despues de navidad",
    "depois do natal",
    "apres noel",
    "apres les fetes",
    "po kaledu",
    "после праздников",
    "после нового года",
    "після свят",
    "після нового року",
    "yilbasindan sonra",
)
AFTER_EASTER = (
    "after easter",
    "po wielkanocy",
    "dupa paste",
    "despues de semana santa",
    "depois da pascoa",
    "apres paques",
    "po velyku",
    "после пасхи",
    "після великодня",
)

# Words in scripts without word boundaries that the Latin grammar can rely on: matched as substrings
# of the normalised text. "kal" (Urdu, Bengali, Punjabi) is tomorrow unless night or "since" follows.
SCRIPT_TOMORROW = ("بكرة", "بكره", "غدا", "کل", "আগামীকাল", "কাল", "ਕੱਲ੍ਹ", "ਕੱਲ")
SCRIPT_NOT_TOMORROW = ("رات", "سے", "রাত", "থেকে", "ਰਾਤ", "ਤੋਂ", "تھا", "تھی", "ছিল", "ਸੀ")
SCRIPT_WEEKDAYS: dict[int, tuple[str, ...]] = {
    0: ("الاثنين", "الإثنين", "پیر", "সোমবার", "ਸੋਮਵਾਰ"),
    1: ("الثلاثاء", "منگل", "মঙ্গলবার", "ਮੰਗਲਵਾਰ"),
    2: ("الأربعاء", "الاربعاء", "بدھ", "বুধবার", "ਬੁੱਧਵਾਰ"),
    3: ("الخميس", "جمعرات", "বৃহস্পতিবার", "ਵੀਰਵਾਰ"),
    4: ("الجمعة", "جمعہ", "শুক্রবার", "ਸ਼ੁੱਕਰਵਾਰ"),
    5: ("السبت", "শনিবার", "ਸ਼ਨੀਵਾਰ"),
    6: ("الأحد", "الاحد", "اتوار", "রবিবার", "ਐਤਵਾਰ"),
}
SCRIPT_NEXT_MONDAY = (
    "آخر الأسبوع",
    "الأسبوع الجاي",
    "الأسبوع القادم",
    "الاسبوع الجاي",
    "پورا ہفتہ",
    "اگلے ہفتے",
    "এই সপ্তাহ",
    "আগামী সপ্তাহ",
    "ਪੂਰਾ ਹਫ਼ਤਾ",
    "ਅਗਲੇ ਹਫ਼ਤੇ",
)
SCRIPT_AFTER_BREAK = ("بعد العطلة", "چھٹیوں کے بعد", "ছুটির পর", "ਛੁੱਟੀਆਂ ਤੋਂ ਬਾਅਦ")
# A day of the month marked the way other languages mark it: "22-го", "12'sinde", "14-ka", "pe 25".
DAY_OF_MONTH_PATTERNS = (
    r"(\d{1,2})\s?-?\s?(?:го|ого|ka|da)\b",
    r"\b(\d{1,2}) ?(?:sinde|inde|nde|sine|ine)\b",
    r"(\d{1,2}) ?(?:tareekh|tarikh|تاریخ|ਤਰੀਕ|তারিখ|dien)",
    r"(?:\bpe|\bdia|\ble|\bel|يوم) (\d{1,2})\b(?!\s*(?:[:.h]\d|h\b|am|pm|horas|heures|ore|min|val))",
)

# Words before a date that say it is when the child is back (preferred over other dates).
# "Today" and "yesterday", for notices given before the register: a text naming only a later day is
# about that day ("dentist tomorrow"), one naming only yesterday explains the past, not today.
TODAY_WORDS = word_set("""today tdy 2day tonight dzis dzisiaj azi astazi hoy hoje aujourd siandien aaj
    bugun maanta""")
YESTERDAY_WORDS = word_set("""yesterday yday wczoraj ieri ayer hier ontem vakar dun""")
# Words just before a day that make it the day the child is in school again, not the day away.
PRESENT_AGAIN = word_set("in back return returns returning")
RETURN_CUES = word_set("""back return returns returning returned till until til untill by from
    hopefully wraca wroci wrocic bedzie do vuelve volvera regresa hasta revine intoarce pana
    reviendra revient retour jusqu volta voltara regressa ate grizta grys iki wapas tak rest""")
# Words before a date that make it the start of the illness, not the return.
SINCE_CUES = word_set("since last past ago desde depuis nuo od din")
# A date right after these is the appointment's, not the return's.
APPOINTMENT_NOUNS = word_set("""appointment appt appointments operation surgery wizyta wizyte
    programare cita consulta rendez rdv vizitas""")
# Words that negate "in"/"tomorrow": "won't be in tomorrow" -> back the day after.
NEGATIONS = word_set("not wont cant isnt doesnt dont wouldnt off nie nu no pas nao ne nahi nahin")
# Past-tense cues: "he's had d&v for 2 days" is a history, not a return date.
PAST_CUES = word_set("been had has have was ago last past since tha thi hua hui")
# Same-day return: "I'll bring him in after", "she'll come in after".
SAME_DAY = re.compile(
    r"\b(?:come|comes|coming|bring|bringing|drop|dropping|be|take|taking|send|sending|get|getting)\s+"
    r"(?:(?:him|her|them)\s+)?(?:back\s+)?(?:in|into school|to school|there)\b"
    r"(?!\s+(?:soon|when|once|tomorrow|next))"
    r"|\b(?:back|in) (?:after lunch|this afternoon|for the afternoon|later|after)\b|\blater today\b"
    r"|\b(?:have|bring|get) (?:him|her|them) back in\b"
    # other languages: "I'll bring him in after"
    r"|\bprzywioze\b|\bprzyprowadze\b|\b(?:o|il|i) aduc\b|\batvesiu\b|\batveziu\b|\b(?:la|lo) llevo\b"
    r"|\blevo (?:o|a)\b|\bje l (?:amene|emmene|ammene)\b|\bschool chhor dung\w*|\bokula getiririm\b"
    r"|\bприведу\b|\bkeenayaa\b|\bchad dawang\w*|بجيب|چھوڑ دوں|দিয়ে আসব|ਛੱਡ ਦਿਆਂ"
)
# "Today and tomorrow", in each language: the child is back the day after tomorrow.
TODAY_AND = frozenset(
    {
        ("today", "and"),
        ("today", "or"),
        ("dzis", "i"),
        ("dzisiaj", "i"),
        ("azi", "si"),
        ("hoy", "y"),
        ("hoje", "e"),
        ("hui", "et"),
        ("siandien", "ir"),
        ("aaj", "aur"),
        ("aj", "te"),
        ("bugun", "ve"),
        ("сегодня", "и"),
        ("сьогодні", "і"),
        ("maanta", "iyo"),
    }
)

# --------------------------------------------------------------------------------------------------
# Words around a date that change what it means (read by ``dates``' candidate finders)
# --------------------------------------------------------------------------------------------------

# "till", "until", "do", "hasta"...: "off till the 4th" names a day of the month.
UNTIL_WORDS = (
    "till",
    "until",
    "til",
    "untill",
    "do",
    "hasta el",
    "hasta",
    "pana pe",
    "pana la",
    "pana in",
    "jusqu au",
    "jusqu a",
    "ate ao dia",
    "ate dia",
    "ate",
    "iki",
)
# ...unless the number is a time or an amount: "till 3pm", "till 10 o clock", "do 2 dni" (regex pieces).
UNTIL_NOT_A_DAY = (
    r"[:.]\d",
    "am",
    "pm",
    r"h\b",
    "o clock",
    "hours",
    "hrs",
    "godz",
    "ore",
    "horas",
    "heures",
    "valand",
    "days",
    "dni",
    "dias",
    "zile",
    "jours",
    "dien",
    "mins?",
    "minutes",
)
# "the 4th birthday", "the 3rd time": an ordinal that is not a date.
ORDINAL_NOT_A_DATE = ("birthday", "time", "year", "floor", "of")
# "off ... this week": away for the rest of it.
AWAY_THIS_WEEK = ("off", "out", "away", "home", "not in")
# "od" / "din" ("from" in Polish / Romanian) read as "since" unless a return cue comes with them.
SINCE_OR_FROM = ("od", "din")
# "esta mañana", "la mañana": this morning, not tomorrow.
MANANA_THIS_MORNING = ("esta", "la")
# Urdu "kal" is tomorrow or yesterday: "kal raat" last night, "kal se" since yesterday.
KAL_NOT_TOMORROW = ("raat", "rat", "se", "sy", "sey", "shaam")
# "tomorrow too", "tomorrow as well": off tomorrow as well, back the day after.
TOMORROW_TOO = ("too", "as", "also", "either")
# Urdu "do" is two only before these units ("do din", two days); elsewhere it is Polish "till".
URDU_TWO_UNITS = ("din", "ghante", "hafte", "hafta")
# "3 times a day", "every 2 hours", "2 days ago", "5 years old": an amount that is not time away.
AMOUNT_NOT_AWAY_BEFORE = ("times", "once", "twice", "per", "every", "each", "few", "couple")
AMOUNT_NOT_AWAY_AFTER = ("ago", "now", "already", "old")
# "has d&v so off 2 days": staying off, so the amount is time to come.
STAYING_OFF = ("off", "keep", "keeping", "stay", "staying", "out")
# "he refuses to come in", "she's scared to come in": not a same-day return.
REFUSAL_STEMS = ("refus", "scared", "afraid", "frighten")
