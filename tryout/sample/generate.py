"""Generate the sample trust's CSV files: two fictional schools, their families, staff and a half-term
and a bit of registers (Thu 3 Sep to Fri 20 Nov 2026).

Run ``python -m tryout.sample.generate`` to rewrite ``tryout/sample/data/``. The output depends only on
the seed, so the committed files can be checked against a fresh run. Everything is fictional:
mobiles are in the Ofcom drama range (07700 900000-900999), landlines in 0113 496 0xxx, emails at
``.example`` domains (reserved, never delivered).

The CSV files use the formats in ``docs/csv-formats.md`` and load through the same import service
as a school's own files (``attendance-bot demo-data``).
"""

import argparse
import csv
import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.calendar import SchoolCalendar
from bot.typical_calendar import SPANS_2026_27

SEED = 20260903
DATA_DIR = Path(__file__).parent / "data"
FIRST_DAY = date(2026, 9, 3)  # Wed 2 Sep is an INSET day
LAST_DAY = date(2026, 11, 20)
LA = "Oakshire"
LA_DOMAIN = "oakshire.example"

# --------------------------------------------------------------------------------------------------
# The two schools
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolSpec:
    urn: str
    name: str
    short: str  # OAK / RIV: staff codes and chat ids
    domain: str
    slug: str
    pupil_prefix: str
    classes: dict[int, tuple[str, ...]]  # year group -> class names
    per_class: int
    am_close: str
    pm_close: str
    priority_year_groups: str
    phone: str
    estab: str  # DfE establishment number, used in UPNs
    staff: tuple[tuple[str, str, str], ...]  # (code suffix, name, role)


OAKFIELD = SchoolSpec(
    urn="100001",
    name="Oakfield Primary School",
    short="OAK",
    domain="oakfield.example",
    slug="oakfield",
    pupil_prefix="1",
    classes={
        0: ("R Willow",),
        1: ("1 Hazel",),
        2: ("2 Rowan",),
        3: ("3 Maple",),
        4: ("4 Birch",),
        5: ("5 Cedar",),
        6: ("6 Oak",),
    },
    per_class=30,
    am_close="09:00",
    pm_close="13:15",
    priority_year_groups="6",  # "Yr 6 first for safeguarding" (first seed)
    phone="0113 496 0123",
    estab="2001",
    staff=(
        ("HT1", "Helen Carter", "headteacher"),
        ("DSL1", "David Okoro", "dsl"),
        ("ATT1", "Jo Patel", "attendance_officer"),
        ("PAS1", "Sam Reid", "pastoral"),
        ("PAS2", "Aisha Begum", "pastoral"),
        ("TCH1", "Tom Hughes", "teacher"),
        ("TCH2", "Priya Nair", "teacher"),
        ("TCH3", "Emma Lawson", "teacher"),
        ("ADM1", "Karen Lloyd", "admin"),
    ),
)

RIVERSIDE = SchoolSpec(
    urn="100002",
    name="Riverside Academy",
    short="RIV",
    domain="riverside.example",
    slug="riverside",
    pupil_prefix="2",
    classes={
        7: ("7JH", "7LM"),
        8: ("8PT", "8SL"),
        9: ("9RW", "9KS"),
        10: ("10DB", "10EF"),
        11: ("11AC", "11NG"),
    },
    per_class=25,
    am_close="09:15",
    pm_close="13:45",
    priority_year_groups="",
    phone="0113 496 0456",
    estab="4002",
    staff=(
        ("HT1", "Mark Ellison", "headteacher"),
        ("DSL1", "Rachel Moss", "dsl"),
        ("ATT1", "Dan Whitfield", "attendance_officer"),
        ("PAS1", "Grace Adebayo", "pastoral"),
        ("PAS2", "Liam O'Connor", "pastoral"),
        ("TCH1", "Ruth Wilkinson", "teacher"),
        ("TCH2", "Kamran Shah", "teacher"),
        ("TCH3", "Sophie Lin", "teacher"),
        ("ADM1", "Paula Green", "admin"),
    ),
)

SCHOOLS = (OAKFIELD, RIVERSIDE)

# --------------------------------------------------------------------------------------------------
# Names by family background; surnames are (man, married woman, girl) where the language inflects
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heritage:
    name: str
    weight: float
    language: str
    girls: tuple[str, ...]
    boys: tuple[str, ...]
    women: tuple[str, ...]
    men: tuple[str, ...]
    surnames: tuple[tuple[str, str, str], ...]
    own_language: float = 0.8  # chance a parent prefers messages in the family's language


def _plain(*names: str) -> tuple[tuple[str, str, str], ...]:
    return tuple((n, n, n) for n in names)


HERITAGES = (
    Heritage(
        "english",
        70,
        "en",
        (
            "Olivia",
            "Amelia",
            "Isla",
            "Ava",
            "Ivy",
            "Freya",
            "Lily",
            "Florence",
            "Mia",
            "Willow",
            "Rosie",
            "Sophia",
            "Isabella",
            "Grace",
            "Daisy",
            "Poppy",
            "Elsie",
            "Emily",
            "Ella",
            "Evie",
            "Charlotte",
            "Harper",
            "Matilda",
            "Ruby",
            "Alice",
            "Jessica",
            "Chloe",
            "Holly",
            "Lucy",
            "Erin",
            "Maisie",
        ),
        (
            "Noah",
            "Oliver",
            "George",
            "Arthur",
            "Leo",
            "Harry",
            "Oscar",
            "Archie",
            "Henry",
            "Theodore",
            "Freddie",
            "Jack",
            "Charlie",
            "Alfie",
            "Jacob",
            "Thomas",
            "Finley",
            "William",
            "Lucas",
            "Isaac",
            "Teddy",
            "Alexander",
            "Edward",
            "James",
            "Joshua",
            "Elijah",
            "Max",
            "Mason",
            "Samuel",
            "Joseph",
        ),
        (
            "Sarah",
            "Emma",
            "Laura",
            "Rachel",
            "Hannah",
            "Claire",
            "Kelly",
            "Gemma",
            "Nicola",
            "Lisa",
            "Natalie",
            "Amy",
            "Joanne",
            "Kirsty",
            "Zoe",
            "Abena",
            "Chioma",
        ),
        (
            "Daniel",
            "Matthew",
            "Chris",
            "Paul",
            "Mark",
            "Andrew",
            "Craig",
            "Lee",
            "Stuart",
            "Gareth",
            "Ryan",
            "Kwame",
            "Tunde",
        ),
        _plain(
            "Smith",
            "Jones",
            "Taylor",
            "Brown",
            "Williams",
            "Wilson",
            "Johnson",
            "Davies",
            "Robinson",
            "Wright",
            "Thompson",
            "Evans",
            "Walker",
            "White",
            "Roberts",
            "Green",
            "Hall",
            "Wood",
            "Jackson",
            "Clarke",
            "Hughes",
            "Edwards",
            "Turner",
            "Hill",
            "Cooper",
            "Ward",
            "Morris",
            "Moore",
            "Harris",
            "Baker",
            "King",
            "Lewis",
            "Martin",
            "Scott",
            "Young",
            "Allen",
            "Mitchell",
            "Carter",
            "Bennett",
            "Shaw",
            "Parker",
            "Bailey",
            "Ellis",
            "Fletcher",
            "Holmes",
            "Barnes",
            "Knight",
            "Murphy",
            "Kelly",
            "O'Brien",
            "Campbell",
            "Stewart",
            "Mensah",
            "Okafor",
            "Adeyemi",
            "Smith-Jones",
            "Reid",
            "Brennan",
        ),
        own_language=1.0,
    ),
    Heritage(
        "polish",
        6,
        "pl",
        ("Zuzanna", "Julia", "Zofia", "Hanna", "Maja", "Lena", "Alicja", "Oliwia"),
        ("Jakub", "Antoni", "Jan", "Szymon", "Filip", "Aleksander", "Franciszek", "Mikołaj"),
        ("Agnieszka", "Katarzyna", "Magdalena", "Joanna", "Anna"),
        ("Piotr", "Tomasz", "Paweł", "Krzysztof", "Marcin"),
        (
            ("Nowak", "Nowak", "Nowak"),
            ("Kowalski", "Kowalska", "Kowalska"),
            ("Wiśniewski", "Wiśniewska", "Wiśniewska"),
            ("Wójcik", "Wójcik", "Wójcik"),
            ("Kamiński", "Kamińska", "Kamińska"),
            ("Lewandowski", "Lewandowska", "Lewandowska"),
            ("Zieliński", "Zielińska", "Zielińska"),
            ("Szymański", "Szymańska", "Szymańska"),
        ),
    ),
    Heritage(
        "romanian",
        4,
        "ro",
        ("Maria", "Elena", "Ioana", "Andreea", "Alexandra", "Daria"),
        ("Andrei", "Alexandru", "David", "Gabriel", "Ștefan", "Matei"),
        ("Mihaela", "Cristina", "Simona", "Roxana"),
        ("Ionuț", "Florin", "Marius", "Cătălin"),
        _plain("Popescu", "Ionescu", "Popa", "Dumitru", "Stan", "Stoica", "Gheorghe", "Munteanu"),
    ),
    Heritage(
        "pakistani",
        7,
        "ur",
        ("Aisha", "Fatima", "Zainab", "Maryam", "Hafsa", "Amina", "Iqra", "Zara"),
        ("Muhammad", "Ibrahim", "Yusuf", "Hamza", "Ayaan", "Zayn", "Ali", "Abdullah"),
        ("Nazia", "Samina", "Shazia", "Rubina", "Saima", "Farah"),
        ("Imran", "Tariq", "Asif", "Khalid", "Naveed", "Shahid"),
        _plain("Khan", "Hussain", "Ahmed", "Ali", "Iqbal", "Mahmood", "Akhtar", "Rashid", "Butt", "Chaudhry"),
        own_language=0.6,
    ),
    Heritage(
        "arabic",
        3,
        "ar",
        ("Layla", "Noor", "Mariam", "Salma", "Huda", "Yasmin"),
        ("Omar", "Youssef", "Adam", "Karim", "Ahmad", "Khalil"),
        ("Rania", "Dalia", "Hanan", "Samar"),
        ("Samir", "Walid", "Bilal", "Tarek"),
        _plain("Al-Sayed", "Haddad", "Mansour", "Nasser", "Aziz", "Saleh", "Hassan"),
    ),
    Heritage(
        "spanish",
        2,
        "es",
        ("Lucía", "Sofía", "Martina", "Valeria", "Carmen"),
        ("Mateo", "Hugo", "Pablo", "Daniel", "Javier"),
        ("Elena", "Marta", "Rocío", "Beatriz"),
        ("Carlos", "Miguel", "Antonio", "Jorge"),
        _plain("García", "Martínez", "López", "Sánchez", "Fernández", "Romero"),
    ),
    Heritage(
        "portuguese",
        2,
        "pt",
        ("Beatriz", "Leonor", "Matilde", "Inês", "Carolina"),
        ("Francisco", "Tomás", "Duarte", "Rodrigo", "Afonso"),
        ("Ana", "Sandra", "Patrícia", "Sofia"),
        ("João", "Ricardo", "Nuno", "Rui"),
        _plain("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues"),
    ),
    Heritage(
        "lithuanian",
        2,
        "lt",
        ("Emilija", "Gabija", "Ugnė", "Austėja", "Kamilė"),
        ("Lukas", "Matas", "Jokūbas", "Dominykas", "Nojus"),
        ("Rasa", "Jurgita", "Inga", "Vilma"),
        ("Tomas", "Mindaugas", "Darius", "Andrius"),
        (
            ("Kazlauskas", "Kazlauskienė", "Kazlauskaitė"),
            ("Jankauskas", "Jankauskienė", "Jankauskaitė"),
            ("Petrauskas", "Petrauskienė", "Petrauskaitė"),
            ("Butkus", "Butkienė", "Butkutė"),
            ("Stankevičius", "Stankevičienė", "Stankevičiūtė"),
        ),
    ),
    Heritage(
        "french",
        1,
        "fr",
        ("Chloé", "Inès", "Manon", "Grâce"),
        ("Nathan", "Enzo", "Moussa", "Christian"),
        ("Aminata", "Solange", "Mireille"),
        ("Jean-Paul", "Ibrahima", "Patrice"),
        _plain("Diallo", "Traoré", "Kabongo", "Mbala", "Lefèvre"),
    ),
    Heritage(
        # Hindu and Sikh families: English-speaking parents, a grandparent or two in Gujarati.
        "indian",
        3,
        "en",
        ("Priya", "Ananya", "Diya", "Anika", "Simran"),
        ("Aarav", "Arjun", "Rohan", "Vihaan", "Dev"),
        ("Neha", "Pooja", "Kiran", "Sunita"),
        ("Raj", "Sanjay", "Vikram", "Amit"),
        _plain("Patel", "Sharma", "Mistry", "Shah", "Joshi", "Gill"),
    ),
)

PREFERRED = {
    "Alexander": "Alex",
    "Thomas": "Tom",
    "William": "Will",
    "Charlotte": "Lottie",
    "Theodore": "Theo",
    "Matilda": "Tilly",
    "Isabella": "Bella",
    "Samuel": "Sam",
    "Joseph": "Joe",
    "Jessica": "Jess",
    "Florence": "Flo",
    "Aleksander": "Olek",
    "Alexandru": "Alex",
    "Muhammad": "Mo",
    "Francisco": "Chico",
    "Abdullah": "Abdi",
}

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

# --------------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------------


@dataclass
class Child:
    first: str
    last: str
    girl: bool
    year: int
    class_name: str
    family: "Family"
    preferred: str = ""
    mis_id: str = ""
    upn: str = ""
    flags: dict[str, bool] = field(default_factory=dict)
    social_worker_email: str = ""
    yot_worker_email: str = ""


@dataclass
class Adult:
    mis_id: str
    first: str
    last: str
    relationship: str
    parental_responsibility: bool
    mobile: str
    email: str
    language: str
    sms_opt_out: bool = False
    email_opt_out: bool = False


@dataclass
class Family:
    heritage: Heritage
    surname: tuple[str, str, str]
    children: list[Child] = field(default_factory=list)
    adults: list[Adult] = field(default_factory=list)
    fsm: bool = False
    looked_after: bool = False


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch == "-")


def _upn(rng: random.Random, spec: SchoolSpec, year: int, serial: int) -> str:
    """A well-formed (fictional) UPN: check letter, LA 938, establishment, year allocated, serial."""
    allocated = (2026 - year) % 100  # allocated on entering Reception
    body = f"938{spec.estab}{allocated:02d}{serial % 1000:03d}"
    total = sum(int(ch) * weight for ch, weight in zip(body, range(2, 14), strict=True))
    return "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23] + body


class _Numbers:
    """Hands out unique drama-range mobiles, written the many ways an MIS export holds them."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.pool = list(range(1000))
        rng.shuffle(self.pool)

    def next(self) -> str:
        n = self.pool.pop()
        style = self.rng.random()
        if style < 0.7:
            return f"07700 900{n:03d}"
        if style < 0.85:
            return f"07700900{n:03d}"
        if style < 0.95:
            return f"+44 7700 900{n:03d}"
        return f"+447700900{n:03d}"


def _families(rng: random.Random, spec: SchoolSpec, numbers: _Numbers, contact_seq) -> list[Family]:
    capacity = {(year, cls): spec.per_class for year, names in spec.classes.items() for cls in names}
    weights = [h.weight for h in HERITAGES]
    families: list[Family] = []

    def seat(year: int | None = None) -> tuple[int, str] | None:
        open_ = [k for k, n in capacity.items() if n > 0 and (year is None or k[0] == year)]
        if not open_:
            return None
        key = rng.choices(open_, weights=[capacity[k] for k in open_])[0]
        capacity[key] -= 1
        return key

    while any(capacity.values()):
        heritage = rng.choices(HERITAGES, weights=weights)[0]
        family = Family(heritage=heritage, surname=rng.choice(heritage.surnames), fsm=rng.random() < 0.2)
        size = rng.choices((1, 2, 3), weights=(58, 32, 10))[0]
        first = seat()
        seats = [first]
        for _ in range(size - 1):
            twin = rng.random() < 0.05
            years = [y for y in spec.classes if (y == first[0]) == twin and abs(y - first[0]) <= 5]
            rng.shuffle(years)
            extra = next((s for y in years if (s := seat(y))), None)
            if extra:
                seats.append(extra)
        for year, cls in seats:
            girl = rng.random() < 0.5
            names = heritage.girls if girl else heritage.boys
            used = {c.first for c in family.children}
            first_name = rng.choice([n for n in names if n not in used] or names)
            last = family.surname[2] if girl else family.surname[0]
            child = Child(first=first_name, last=last, girl=girl, year=year, class_name=cls, family=family)
            if first_name in PREFERRED and rng.random() < 0.5:
                child.preferred = PREFERRED[first_name]
            family.children.append(child)
        _adults(rng, family, numbers, contact_seq)
        families.append(family)
    return families


def _adults(rng: random.Random, family: Family, numbers: _Numbers, contact_seq) -> None:
    h = family.heritage
    count = rng.choices((1, 2, 3), weights=(12, 78, 10))[0]
    mother_first = rng.random() < 0.78
    mother_last = family.surname[1] if rng.random() < 0.88 else rng.choice(h.surnames)[1]
    people = [
        ("mother", rng.choice(h.women), mother_last, True),
        ("father", rng.choice(h.men), family.surname[0], True),
    ]
    if not mother_first:
        people.reverse()
    grand = rng.choice(("grandmother", "grandfather", "aunt", "uncle"))
    grand_first = rng.choice(h.women if grand in {"grandmother", "aunt"} else h.men)
    grand_last = family.surname[1] if grand in {"grandmother", "aunt"} else family.surname[0]
    people.append((grand, grand_first, grand_last, False))
    for i, (relationship, first, last, pr) in enumerate(people[:count]):
        own = rng.random() < (h.own_language if i < 2 else 0.95)
        language = h.language if own else "en"
        if h.name == "indian" and i == 2 and rng.random() < 0.5:
            language = "gu"
        email_only = rng.random() < 0.04
        has_email = email_only or rng.random() < 0.8
        email = ""
        if has_email:
            email = f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}"
        family.adults.append(
            Adult(
                mis_id=next(contact_seq),
                first=first,
                last=last,
                relationship=relationship,
                parental_responsibility=pr,
                mobile="" if email_only else numbers.next(),
                email=email,
                language=language,
            )
        )


def _flags(rng: random.Random, spec: SchoolSpec, families: list[Family]) -> None:
    pupils = [c for f in families for c in f.children]
    for family in families:
        sw = rng.random() < 0.035
        cp = sw and rng.random() < 0.4
        for child in family.children:
            child.flags = {
                "social_worker": sw,
                "child_protection": cp,
                "looked_after": False,
                "send_ehcp": rng.random() < 0.03,
                "young_carer": rng.random() < (0.03 if child.year >= 7 else 0.01),
                "yot_worker": False,
                "fsm": family.fsm,
            }
    # Two looked-after children per school, each an only child placed with foster carers.
    singles = [f for f in families if len(f.children) == 1 and not f.children[0].flags["social_worker"]]
    for family in rng.sample(singles, 2):
        family.looked_after = True
        child = family.children[0]
        child.flags.update(looked_after=True, social_worker=True, fsm=True)
        carers = rng.choice(HERITAGES[0].surnames)[0]
        for adult in family.adults:
            adult.relationship, adult.parental_responsibility, adult.last = "foster carer", False, carers
            adult.language = "en"
    if spec.classes.keys() >= {10}:
        rng.choice([c for c in pupils if c.year >= 10]).flags.update(yot_worker=True)
    for child in pupils:
        if child.flags["social_worker"]:
            worker = rng.choice(("k.obi", "m.fraser", "s.hollis", "childrens.services"))
            child.social_worker_email = f"{worker}@{LA_DOMAIN}"
        if child.flags["yot_worker"]:
            child.yot_worker_email = f"yot@{LA_DOMAIN}"


def _opt_outs(rng: random.Random, families: list[Family]) -> None:
    adults = [a for f in families for a in f.adults if a.mobile and a.email]
    for adult in rng.sample(adults, 2):
        adult.sms_opt_out = True
    adults = [a for f in families for a in f.adults if a.mobile and a.email and not a.sms_opt_out]
    rng.choice(adults).email_opt_out = True


# --------------------------------------------------------------------------------------------------
# Registers
# --------------------------------------------------------------------------------------------------

DIWALI_MONDAY = date(2026, 11, 9)  # Diwali is Sun 8 Nov 2026; some families keep the Monday
TRIP = {OAKFIELD.urn: (date(2026, 10, 15), "4 Birch"), RIVERSIDE.urn: (date(2026, 10, 7), "9RW")}
FIXTURE_DAY = date(2026, 11, 11)  # an afternoon sports fixture (P) at Riverside


def _marks(rng: random.Random, spec: SchoolSpec, families: list[Family], days: list[date]) -> list[tuple]:
    pupils = sorted((c for f in families for c in f.children), key=lambda c: c.mis_id)
    secondary = min(spec.classes) >= 7
    chosen = rng.sample(pupils, 10 if secondary else 7)
    persistent, severe = {id(c) for c in chosen[1:]}, id(chosen[0])
    holidays: dict[int, set[date]] = {}
    for family in rng.sample(families, 4):
        length = rng.randint(3, 5)
        if rng.random() < 0.5:  # the week before half-term, or just after it
            span = [d for d in days if d.month == 10 and d.day >= 19][-length:]
        else:
            start = rng.randrange(0, len(days) - length)
            span = days[start : start + length]
        for child in family.children:
            holidays[id(child)] = set(span)
    suspended = {}
    if secondary:  # a two-day suspension with no provision (E)
        suspended[id(rng.choice([c for c in pupils if c.year >= 9]))] = {
            date(2026, 11, 17),
            date(2026, 11, 18),
        }
    fixture = set(map(id, rng.sample([c for c in pupils if c.year in (9, 10)], 11))) if secondary else set()
    hindu = {id(f) for f in families if f.heritage.name == "indian" and rng.random() < 0.7}
    trip_day, trip_class = TRIP[spec.urn]

    rows = []
    for child in pupils:
        ill_rate = rng.choice((0.008, 0.012, 0.018, 0.025, 0.035)) * (1.15 if secondary else 1.0)
        late_rate = rng.choice((0.0, 0.0, 0.01, 0.02, 0.05))
        absent_rate = 0.1 + rng.random() * 0.08 if id(child) in persistent else 0.0
        illness = 0
        for day in days:
            am, pm, late = "/", "\\", None
            if day in holidays.get(id(child), ()):
                am = pm = "G"
            elif day in suspended.get(id(child), ()):
                am = pm = "E"
            elif day == trip_day and child.class_name == trip_class:
                am = pm = "V"
            elif day == DIWALI_MONDAY and id(child.family) in hindu:
                am = pm = "R"
            elif illness or rng.random() < ill_rate:
                illness = illness or rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
                am = pm = "I"
                illness -= 1
                if illness == 0 and rng.random() < 0.15:
                    pm = "\\"  # felt better by lunchtime
            elif id(child) == severe and rng.random() < 0.6:
                am = pm = rng.choices(("O", "I", "U"), weights=(70, 20, 10))[0]
                if am == "U":
                    pm, late = "\\", rng.randint(30, 90)
            elif rng.random() < absent_rate:
                kind = rng.choices(("O", "I", "U", "M", "C", "PM"), weights=(35, 30, 12, 8, 5, 10))[0]
                if kind == "U":
                    am, late = "U", rng.randint(20, 60)
                elif kind == "M":
                    am = "M"
                elif kind == "PM":
                    pm = "O"
                else:
                    am = pm = kind
            else:
                r = rng.random()
                if r < late_rate:
                    am, late = "L", rng.randint(2, 25)
                elif r < late_rate + 0.004:
                    am = "M"
                elif r < late_rate + 0.006:
                    am, late = "U", rng.randint(20, 45)
                elif r < late_rate + 0.008:
                    am = pm = "O"
                elif rng.random() < 0.003:
                    pm = "M"
            if day == FIXTURE_DAY and id(child) in fixture and pm == "\\":
                pm = "P"
            rows.append((child.mis_id, day.isoformat(), "AM", am, late or ""))
            rows.append((child.mis_id, day.isoformat(), "PM", pm, ""))
    rows.sort(key=lambda r: (r[1], r[2], r[0]))
    return rows


# --------------------------------------------------------------------------------------------------
# Writing the files
# --------------------------------------------------------------------------------------------------


def _write(path: Path, header: tuple[str, ...], rows) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        n = 0
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def generate(out_dir: Path = DATA_DIR, *, seed: int = SEED) -> dict[str, int]:
    """Write every sample file under ``out_dir``; returns row counts by file (relative path)."""
    counts: dict[str, int] = {}
    calendar = SchoolCalendar(SPANS_2026_27)
    days = calendar.school_days_between(FIRST_DAY, LAST_DAY)
    school_rows = []
    numbers = _Numbers(random.Random(seed))  # one pool for the trust: a number belongs to one family
    for spec in SCHOOLS:
        rng = random.Random(seed + int(spec.urn))
        staff_rows = []
        for suffix, name, role in spec.staff:
            first, last = name.split(" ", 1)
            email = f"{_ascii(first)[0]}.{_ascii(last).replace('-', '')}@{spec.domain}"
            teams = uuid.uuid5(uuid.NAMESPACE_DNS, f"{spec.domain}/{suffix}")
            staff_rows.append(
                (f"{spec.short}-{suffix}", name, role, email, f"U0{spec.short}{suffix}", str(teams), "Y")
            )
        emails = {role: row[3] for (_s, _n, role), row in zip(spec.staff, staff_rows, strict=True)}
        school_rows.append(
            (
                spec.urn,
                spec.name,
                "Europe/London",
                LA,
                spec.phone,
                emails["dsl"],
                emails["attendance_officer"],
                f"#{spec.slug}-pastoral",
                f"#{spec.slug}-attendance",
                "",
                spec.am_close,
                spec.pm_close,
                "11:00;14:30",
                spec.priority_year_groups,
            )
        )

        contact_ids = (f"C{spec.pupil_prefix}{n:04d}" for n in range(1, 10000))
        families = _families(rng, spec, numbers, contact_ids)
        _flags(rng, spec, families)
        _opt_outs(rng, families)
        children = sorted(
            (c for f in families for c in f.children), key=lambda c: (c.year, c.class_name, c.last, c.first)
        )
        for n, child in enumerate(children, 1):
            child.mis_id = f"P{spec.pupil_prefix}{n:04d}"
            child.upn = _upn(rng, spec, child.year, n)

        folder = out_dir / spec.urn
        counts[f"{spec.urn}/calendar.csv"] = _write(
            folder / "calendar.csv",
            ("kind", "start_date", "end_date", "name"),
            ((s.kind, s.start.isoformat(), s.end.isoformat(), s.name) for s in SPANS_2026_27),
        )
        counts[f"{spec.urn}/staff.csv"] = _write(
            folder / "staff.csv",
            ("staff_code", "name", "role", "email", "slack_user_id", "teams_user_id", "active"),
            staff_rows,
        )
        counts[f"{spec.urn}/pupils.csv"] = _write(
            folder / "pupils.csv",
            (
                "mis_id",
                "upn",
                "first_name",
                "last_name",
                "preferred_name",
                "year_group",
                "class_name",
                "social_worker",
                "child_protection",
                "looked_after",
                "send_ehcp",
                "young_carer",
                "yot_worker",
                "fsm",
                "social_worker_email",
                "yot_worker_email",
            ),
            (
                (
                    c.mis_id,
                    c.upn,
                    c.first,
                    c.last,
                    c.preferred,
                    c.year,
                    c.class_name,
                    *(
                        _yn(c.flags[k])
                        for k in (
                            "social_worker",
                            "child_protection",
                            "looked_after",
                            "send_ehcp",
                            "young_carer",
                            "yot_worker",
                            "fsm",
                        )
                    ),
                    c.social_worker_email,
                    c.yot_worker_email,
                )
                for c in children
            ),
        )
        counts[f"{spec.urn}/contacts.csv"] = _write(
            folder / "contacts.csv",
            (
                "mis_id",
                "pupil_mis_id",
                "first_name",
                "last_name",
                "relationship",
                "priority",
                "parental_responsibility",
                "mobile",
                "email",
                "language",
                "sms_opt_out",
                "email_opt_out",
            ),
            sorted(
                (
                    (
                        a.mis_id,
                        c.mis_id,
                        a.first,
                        a.last,
                        a.relationship,
                        i,
                        _yn(a.parental_responsibility),
                        a.mobile,
                        a.email,
                        a.language,
                        _yn(a.sms_opt_out),
                        _yn(a.email_opt_out),
                    )
                    for f in families
                    for c in f.children
                    for i, a in enumerate(f.adults, 1)
                ),
                key=lambda row: (row[1], row[5]),
            ),
        )
        counts[f"{spec.urn}/marks.csv"] = _write(
            folder / "marks.csv",
            ("pupil_mis_id", "date", "session", "code", "minutes_late"),
            _marks(rng, spec, families, days),
        )

    counts["schools.csv"] = _write(
        out_dir / "schools.csv",
        (
            "urn",
            "name",
            "timezone",
            "local_authority",
            "phone",
            "dsl_email",
            "attendance_lead_email",
            "slack_pastoral_channel",
            "slack_attendance_channel",
            "teams_workflow_url",
            "am_close",
            "pm_close",
            "chase_times",
            "priority_year_groups",
        ),
        school_rows,
    )
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="folder to write (default: the package's)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for name, n in generate(args.out, seed=args.seed).items():
        print(f"{name}: {n} rows")


if __name__ == "__main__":
    main()
