"""Demo data, fast: COPY straight into PostgreSQL through asyncpg, with a progress bar.

Posts are written from templates and word lists in English (~70%), Spanish (~18%) and
Chinese (~12%), so that search has something to find: verbs in every inflection (run, runs,
ran, running; corro, corrió, corriendo), plurals and accents (niño, niñas, café, cafés,
canción), Chinese sentences of common words without spaces, hashtags in all three languages
(~40% of posts), @mentions of seeded users (~15%), and a long tail of rare words (about
2,000 names and uncommon words, each in a handful of posts per million). Words are drawn with
Zipf-like weights, so a few are very common ("today" is in roughly one post in six) and most
are not. `PostWriter` is the generator; `seed()` feeds it to COPY.

People like and repost posts of those they follow (`Reactions`): about `--likes` and
`--reposts` each on average, popular posts far more than most, mostly soon after the post.
Reposts take their ids from the posts' sequence in time order, as live ones do, so one
timeline orders both by id; `posts.like_count` and `repost_count` count those rows.

The database indexes what is inserted (migration 5's triggers compute `posts.search`,
`post_tags` and `search_words` for COPY too), so the posts phase is bound by PostgreSQL:
the next batch is written in a thread while the current one is being copied.
"""

from __future__ import annotations

import asyncio
import random
import time
from bisect import bisect
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Generic, TypeVar

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from microblog.db import asyncpg_dsn
from microblog.limits import POST_MAX
from microblog.security import _hasher
from microblog.text import hashtags, username_skeleton

ADJECTIVES = ["quiet", "bright", "lazy", "brave", "curious", "sunny", "misty", "swift", "calm",
              "wild", "gentle", "clever", "happy", "silver", "golden", "little"]
NOUNS = ["fox", "river", "owl", "maple", "comet", "harbor", "falcon", "meadow", "pixel",
         "otter", "cedar", "lantern", "willow", "panda", "tiger", "violet"]
ABOUT = ["Coffee, code and long walks.", "Amateur photographer.", "Here for the conversation.",
         "Writing about small things.", "Runner, reader, occasional baker.",
         "Gardening and bad puns.", "Ciclista y lector.", "Música, café y montaña.",
         "喜欢旅行和读书。", "北京人，喜欢咖啡。", ""]
LANGUAGE_WEIGHTS = [("en", 0.70), ("es", 0.18), ("zh", 0.12)]
TAGGED = 0.40  # share of posts with 1-3 hashtags
MENTIONING = 0.15  # share of posts with an @mention of a seeded user
RARE = 0.015  # share of posts with one word of the rare tail (~7 posts per word per million)
EMOJI = 0.10
T = TypeVar("T")

# --- English -----------------------------------------------------------------------------------

# (base, third person, past, past participle, gerund, objects); most common first
EN_VERBS: list[tuple[str, str, str, str, str, list[str]]] = [
    ("drink", "drinks", "drank", "drunk", "drinking",
     ["a coffee", "an iced coffee", "a flat white", "green tea", "hot chocolate",
      "fresh orange juice", "a cold lemonade", "way too much coffee"]),
    ("read", "reads", "read", "read", "reading",
     ["a great book", "the news", "a mystery novel", "old poems", "a comic book",
      "the whole newspaper", "a book about the history of maps", "a biography of Ada Lovelace"]),
    ("watch", "watches", "watched", "watched", "watching",
     ["a film", "the match", "a documentary about whales", "the sunset", "old movies",
      "the rain", "a silly cartoon", "the final episode"]),
    ("run", "runs", "ran", "run", "running",
     ["five miles", "a half marathon", "a 10k", "laps around the park", "my first marathon",
      "up the hill", "with the running club"]),
    ("cook", "cooks", "cooked", "cooked", "cooking",
     ["dinner", "pasta", "a spicy soup", "pancakes", "a curry", "breakfast for everyone",
      "my grandmother's recipe"]),
    ("walk", "walks", "walked", "walked", "walking",
     ["the dog", "home", "along the river", "through the old town", "ten thousand steps"]),
    ("play", "plays", "played", "played", "playing",
     ["the guitar", "chess", "football", "the piano", "video games", "board games", "tennis"]),
    ("write", "writes", "wrote", "written", "writing",
     ["some code", "a letter", "a new song", "a blog post", "a short story", "my thesis",
      "poems"]),
    ("bake", "bakes", "baked", "baked", "baking",
     ["bread", "a chocolate cake", "cookies", "sourdough", "cinnamon rolls", "a lemon pie"]),
    ("visit", "visits", "visited", "visited", "visiting",
     ["my grandparents", "the museum", "a new café", "the farmers market", "the library",
      "an old friend", "the botanical garden"]),
    ("listen to", "listens to", "listened to", "listened to", "listening to",
     ["a new podcast", "jazz", "the radio", "a new album", "the birds", "the rain"]),
    ("learn", "learns", "learned", "learned", "learning",
     ["Spanish", "to swim", "Python", "photography", "Chinese", "to juggle", "the ukulele"]),
    ("fix", "fixes", "fixed", "fixed", "fixing",
     ["my bike", "a nasty bug", "the kitchen sink", "the garden fence", "my old laptop"]),
    ("take", "takes", "took", "taken", "taking",
     ["photos", "a long nap", "the early train", "a cooking class", "a day off"]),
    ("try", "tries", "tried", "tried", "trying",
     ["a new recipe", "rock climbing", "the ramen place", "meditation", "a standing desk"]),
    ("buy", "buys", "bought", "bought", "buying",
     ["new shoes", "fresh flowers", "vegetables", "a second-hand camera", "too many books"]),
    ("paint", "paints", "painted", "painted", "painting",
     ["the fence", "a portrait", "the bedroom", "a landscape", "tiny watercolours"]),
    ("make", "makes", "made", "made", "making",
     ["jam", "a playlist", "new friends", "a birthday card", "pizza at home"]),
    ("swim", "swims", "swam", "swum", "swimming",
     ["in the lake", "in the sea", "twenty lengths", "at the public pool"]),
    ("build", "builds", "built", "built", "building",
     ["a bookshelf", "a website", "a sandcastle", "a treehouse", "a small app"]),
    ("plant", "plants", "planted", "planted", "planting",
     ["tomatoes", "tulips", "a tree", "herbs on the balcony", "sunflowers"]),
    ("meet", "meets", "met", "met", "meeting",
     ["old friends", "my neighbours", "the new team", "a famous author"]),
    ("study", "studies", "studied", "studied", "studying",
     ["for my exams", "history", "maths", "art history", "the stars"]),
    ("ride", "rides", "rode", "ridden", "riding",
     ["my bike", "the night bus", "a horse", "the ferry"]),
    ("climb", "climbs", "climbed", "climbed", "climbing",
     ["a mountain", "the stairs", "the old tower", "a steep hill"]),
    ("clean", "cleans", "cleaned", "cleaned", "cleaning",
     ["the house", "my desk", "the garage", "the windows"]),
    ("sing", "sings", "sang", "sung", "singing",
     ["karaoke", "in the choir", "an old song", "in the shower"]),
    ("find", "finds", "found", "found", "finding",
     ["a lost cat", "an old photo", "a great bookshop", "a hidden beach",
      "twenty dollars in my coat"]),
]
EN_PLACES = ["at the park", "at home", "in the garden", "by the river", "at the beach",
             "in the city centre", "at the office", "at the library", "on the train",
             "in the kitchen", "at the corner café", "downtown", "in the mountains",
             "at my parents' place", "at the old harbour", "on the balcony", "at the gym",
             "in London", "in Paris", "in New York", "in Tokyo", "in Berlin", "near the lake",
             "at the station", "in Beijing", "at the farmers market"]
EN_TIMES = ["today", "this morning", "tonight", "yesterday", "this weekend", "last night",
            "after work", "on Sunday", "before breakfast", "all afternoon", "on Monday",
            "this evening", "at lunch", "again", "for the first time", "last summer",
            "at midnight", "on Friday"]
EN_LATER = ["tomorrow", "tonight", "this weekend", "next week", "after work", "on Saturday",
            "later today", "someday"]
EN_OFTEN = ["every morning", "on Sundays", "after work", "every weekend", "all the time",
            "at night", "in the rain", "before breakfast"]
EN_SUBJECTS = ["My sister", "My brother", "Our neighbour", "My dad", "My mom",
               "My best friend", "Our cat", "My roommate", "My grandmother", "The whole team",
               "Everyone here", "My partner"]
EN_COMPANIONS = ["friends", "my sister", "the neighbours", "my dog", "colleagues", "my kids",
                 "my partner", "strangers from the internet", "the running club"]
EN_ADJECTIVES = ["perfect", "amazing", "exhausting", "lovely", "surprisingly good",
                 "a disaster", "so relaxing", "hilarious", "beautiful", "weird", "worth it",
                 "terrible", "wonderful", "cozy", "unforgettable"]
EN_TAILS = ["Highly recommend.", "Never again.", "Best decision all week.", "What a day!",
            "Not bad at all.", "Still smiling.", "Who's in next time?", "Feeling grateful.",
            "Send help.", "Ten out of ten.", "Mixed feelings, honestly.", "My legs disagree.",
            "Worth every minute.", "Why is it always raining?", "Coffee was mandatory.",
            "Back to reality tomorrow.", "The weather was perfect.", "Tired but happy."]
EN_TEMPLATES = [
    "{Time}, I {past} {obj} {place}.",
    "{Subj} {pres} {obj} {place} {often}.",
    "Just {past} {obj} {place} and it was {adj}.",
    "Currently {ing} {obj} {place}. {tail}",
    "Has anyone ever {pp} {obj} {place}?",
    "I love {ing} {obj} {often}.",
    "{Time}: {ing} {obj} with {with}. {tail}",
    "We {past} {obj} {place} {time}. It was {adj}.",
    "Can't believe I {past} {obj} {time}!",
    "Note to self: stop {ing} {obj} {place}.",
    "{Subj} keeps {ing} {obj}. {tail}",
    "I'm going to {base} {obj} {place} {later}.",
    "Spent the day {ing} {obj} with {with}, {adj}.",
    "{Subj} {past} {obj} {time} and now I want to {base2} {obj2} too.",
]
EN_RARE_TEMPLATES = ["Just discovered a band called {Name}.", "Our new puppy is named {Name}.",
                     "Has anyone been to {Name}? Heard it's lovely.",
                     "Reading a novel set in {Name}.", "Shoutout to the {Name} bakery.",
                     "Word of the day: {word}.", "Finally used '{word}' in a sentence.",
                     "Is {word} even a real word?", "Today's mood: {word}."]
EN_MENTIONS = ["@{u} {body}", "{body} Thanks @{u}!", "{body} cc @{u}",
               "{body} With @{u}, of course."]

# --- Spanish -----------------------------------------------------------------------------------

# (infinitive, yo, él, ellos, yo (pretérito), él (pretérito), gerundio, objects)
ES_VERBS: list[tuple[str, str, str, str, str, str, str, list[str]]] = [
    ("tomar", "tomo", "toma", "toman", "tomé", "tomó", "tomando",
     ["un café", "dos cafés", "un té", "el tren", "el sol", "fotos"]),
    ("leer", "leo", "lee", "leen", "leí", "leyó", "leyendo",
     ["un libro precioso", "el periódico", "una novela de misterio", "poemas de Neruda",
      "cómics antiguos"]),
    ("escuchar", "escucho", "escucha", "escuchan", "escuché", "escuchó", "escuchando",
     ["una canción nueva", "las canciones de siempre", "música clásica", "la radio",
      "un pódcast"]),
    ("correr", "corro", "corre", "corren", "corrí", "corrió", "corriendo",
     ["diez kilómetros", "por el parque", "una media maratón", "por la playa"]),
    ("comer", "como", "come", "comen", "comí", "comió", "comiendo",
     ["tacos", "churros con chocolate", "pan recién hecho", "empanadas", "helado"]),
    ("ver", "veo", "ve", "ven", "vi", "vio", "viendo",
     ["una película", "el partido", "el atardecer", "películas antiguas", "una serie nueva"]),
    ("cocinar", "cocino", "cocina", "cocinan", "cociné", "cocinó", "cocinando",
     ["una paella", "tortilla de patatas", "sopa de verduras", "arroz con pollo"]),
    ("cantar", "canto", "canta", "cantan", "canté", "cantó", "cantando",
     ["una canción", "villancicos", "en el coro", "karaoke"]),
    ("jugar", "juego", "juega", "juegan", "jugué", "jugó", "jugando",
     ["al fútbol", "al ajedrez", "a las cartas", "con los niños", "al baloncesto"]),
    ("caminar", "camino", "camina", "caminan", "caminé", "caminó", "caminando",
     ["por la ciudad", "junto al río", "por la montaña", "hasta el mercado"]),
    ("escribir", "escribo", "escribe", "escriben", "escribí", "escribió", "escribiendo",
     ["una carta", "un poema", "código", "mi tesis", "una canción"]),
    ("visitar", "visito", "visita", "visitan", "visité", "visitó", "visitando",
     ["a mis abuelos", "el museo", "una cafetería nueva", "el mercado", "a una vieja amiga"]),
    ("aprender", "aprendo", "aprende", "aprenden", "aprendí", "aprendió", "aprendiendo",
     ["inglés", "chino", "a nadar", "a tocar la guitarra", "fotografía"]),
    ("bailar", "bailo", "baila", "bailan", "bailé", "bailó", "bailando",
     ["salsa", "tango", "toda la noche", "en la plaza"]),
    ("comprar", "compro", "compra", "compran", "compré", "compró", "comprando",
     ["flores", "zapatos nuevos", "fruta en el mercado", "demasiados libros"]),
    ("pintar", "pinto", "pinta", "pintan", "pinté", "pintó", "pintando",
     ["la cocina", "un retrato", "un paisaje", "la valla del jardín"]),
    ("estudiar", "estudio", "estudia", "estudian", "estudié", "estudió", "estudiando",
     ["para el examen", "historia", "matemáticas", "toda la tarde"]),
]
ES_PLACES = ["en el parque", "en casa", "en la playa", "en la plaza", "en el centro",
             "en la biblioteca", "en la montaña", "en Madrid", "en Buenos Aires",
             "en Ciudad de México", "en Sevilla", "en Barcelona", "en el jardín", "junto al mar",
             "en la cafetería de la esquina", "en el pueblo", "en Pekín"]
ES_TIMES = ["hoy", "esta mañana", "esta noche", "ayer", "el fin de semana", "mañana",
            "el domingo", "después del trabajo", "toda la tarde", "otra vez",
            "por primera vez", "anoche", "este verano", "a medianoche"]
ES_LATER = ["mañana", "esta noche", "el fin de semana", "el sábado", "la semana que viene",
            "después del trabajo", "pasado mañana"]
ES_OFTEN = ["todos los días", "cada mañana", "los domingos", "siempre", "por las tardes",
            "cuando llueve"]
ES_SINGULAR = ["Mi hermana", "Mi hermano", "Mi abuela", "La niña", "El niño", "Mi vecino",
               "Mi mejor amiga", "Mi perro", "Mi madre"]
ES_PLURAL = ["Los niños", "Las niñas", "Mis amigos", "Mis padres", "Mis primos",
             "Mis compañeros"]
ES_COMPANIONS = ["mis amigos", "los niños", "mi abuela", "mi perro", "unos compañeros",
                 "mi pareja", "las niñas"]
ES_ADJECTIVES = ["precioso", "increíble", "agotador", "maravilloso", "un desastre",
                 "muy divertido", "tranquilo", "inolvidable", "genial", "raro"]
ES_TAILS = ["¡Qué día!", "Lo recomiendo.", "Nunca más.", "Estoy feliz.",
            "¿Quién se apunta la próxima vez?", "Vale la pena.", "Necesito un café.",
            "Mañana más.", "Me encanta esta ciudad.", "¡Olé!", "Hacía un tiempo estupendo."]
ES_TEMPLATES = [
    "{Time} {yo_past} {obj} {place}.",
    "{Sing} {el} {obj} {place} {often}.",
    "{Plur} {ellos} {obj} {place}. {tail}",
    "Estoy {ger} {obj} {place}. {tail}",
    "Me encanta {inf} {obj} {often}.",
    "¿Alguien más {el} {obj} {time}?",
    "{Sing} {el_past} {obj} {place} y fue {adj}.",
    "Hoy {yo_past} {obj} con {with}. {tail}",
    "Voy a {inf} {obj} {place} {later}.",
    "{Often} {yo} {obj} {place}.",
]
ES_RARE_TEMPLATES = ["Acabo de descubrir un grupo llamado {Name}.",
                     "Mi perrita nueva se llama {Name}.", "¿Alguien conoce {Name}?",
                     "Palabra del día: {word}."]
ES_MENTIONS = ["@{u} {body}", "{body} ¡Gracias @{u}!", "{body} Con @{u}, claro."]

# --- Chinese -----------------------------------------------------------------------------------

ZH_TIMES = ["今天", "昨天", "周末", "晚上", "早上", "明天", "下午", "上个星期", "刚才", "每天"]
ZH_SUBJECTS = ["我", "我们", "我和朋友", "我的朋友", "同学们", "妈妈", "爸爸", "老师",
               "我和家人", "室友"]
ZH_PLACES = ["北京", "上海", "咖啡馆", "北京大学", "公园", "图书馆", "家里", "学校", "餐厅",
             "海边", "广州", "深圳", "成都", "杭州", "西湖", "长城", "超市", "电影院", "大学",
             "公司"]
ZH_ACTIVITIES = ["喝咖啡", "看电影", "学习中文", "读书", "吃饭", "跑步", "听音乐", "学习英语",
                 "写代码", "拍照片", "打篮球", "逛街", "做饭", "唱歌", "爬山", "散步",
                 "吃火锅", "喝茶", "骑自行车", "画画"]
ZH_COMMENTS = ["天气很好", "天气不错", "真开心", "太累了", "非常有意思", "下雨了", "人很多",
               "很热闹", "心情很好", "收获很大", "感觉很放松", "有点冷"]
ZH_TEMPLATES = [
    "{time}{subj}在{place}{act}，{comment}。",
    "{subj}{time}去{place}{act}了。",
    "{time}{subj}在{place}{act}，{comment}！",
    "{subj}最喜欢在{place}{act}。",
    "{time}先{act}，然后去{place}{act2}。",
    "有没有人{time}一起去{place}{act}？",
    "{time}的{place}{comment}，适合{act}。",
]
ZH_IDIOMS = ["画蛇添足", "对牛弹琴", "守株待兔", "亡羊补牢", "井底之蛙", "一石二鸟", "半途而废",
             "塞翁失马", "杞人忧天", "掩耳盗铃", "刻舟求剑", "卧虎藏龙", "滥竽充数", "叶公好龙",
             "狐假虎威", "胸有成竹", "破釜沉舟", "望梅止渴", "纸上谈兵", "名列前茅", "对症下药",
             "入乡随俗", "熟能生巧", "一见钟情", "自相矛盾", "精益求精", "举一反三", "坐井观天"]
ZH_RARE_TEMPLATES = ["{idiom}，说的就是我。", "今天学了一个成语：{idiom}。",
                     "我的新小狗叫 {Name}。"]
ZH_MENTIONS = ["@{u} {body}", "{body} 谢谢 @{u}！"]

# --- hashtags, emoji and the rare tail --------------------------------------------------------

EN_TAGS = ["coffee", "running", "books", "music", "travel", "photography", "food", "weekend",
           "python", "coding", "gardening", "cooking", "fitness", "art", "movies", "nature",
           "sunset", "rain", "cycling", "cats", "dogs", "baking", "jazz", "hiking", "football",
           "gaming", "science", "history", "design", "opensource", "chess", "yoga", "tea",
           "breakfast", "sourdough", "podcast", "poetry", "mondaymotivation"]
ES_TAGS = ["café", "música", "fútbol", "viaje", "libros", "cine", "playa", "comida", "madrid",
           "méxico", "buenosaires", "verano", "montaña", "niños"]
ZH_TAGS = ["北京", "美食", "旅行", "咖啡", "电影", "读书", "音乐", "上海", "学习"]
SHARED_TAGS = ["music", "travel", "coffee", "photography", "café", "北京"]
EMOJI_LIST = ["☕", "🌧️", "🎉", "😂", "❤️", "🙌", "📚", "🏃", "🌞", "🍕", "🎸", "✨"]

RARE_WORDS = [
    "petrichor", "sonder", "apricity", "vellichor", "hiraeth", "susurrus", "quixotic",
    "ephemeral", "serendipity", "mellifluous", "halcyon", "sonorous", "limerence", "ineffable",
    "lagniappe", "defenestration", "borborygmus", "kerfuffle", "brouhaha", "flibbertigibbet",
    "gobbledygook", "widdershins", "snollygoster", "cattywampus", "collywobbles", "bumfuzzle",
    "lollygag", "skedaddle", "taradiddle", "absquatulate", "bloviate", "codswallop",
    "discombobulate", "gallimaufry", "hullabaloo", "lackadaisical", "nincompoop", "pandiculation",
    "rigmarole", "shenanigans", "wabbit", "whippersnapper", "xertz", "zugzwang", "abecedarian",
    "anachronism", "bibliophile", "cacophony", "crepuscular", "defenestrate", "ebullient",
    "effervescent", "eloquence", "ethereal", "euphoria", "felicity", "gossamer", "incandescent",
    "labyrinthine", "luminescence", "nefarious", "obfuscate", "onomatopoeia", "palimpsest",
    "panacea", "penumbra", "perspicacious", "phosphorescence", "quintessential", "redolent",
    "resplendent", "sesquipedalian", "solitude", "somnambulist", "surreptitious",
    "tintinnabulation",
    "vicissitude", "zephyr", "ubiquitous", "juxtaposition", "mondegreen", "syzygy",
    "velleity", "ultracrepidarian", "psithurism", "numinous", "eudaimonia", "fernweh",
    "komorebi", "tsundoku", "hygge", "sobremesa", "meraki", "saudade", "gezellig", "wanderlust",
]
_ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "kl", "l", "m",
           "n", "p", "pr", "qu", "r", "s", "sh", "sk", "st", "t", "th", "tr", "v", "w", "z"]
_VOWELS = ["a", "e", "i", "o", "u", "ae", "ei", "ou"]
_MIDDLES = ["l", "m", "n", "r", "v", "z", "th", "sk", "nd", "lm", "rk", "st"]
_ENDINGS = ["a", "on", "ix", "ar", "eth", "ia", "os", "un", "el", "or", "is", "ane", "ow", "ith"]


def _rare_names(count: int) -> list[str]:
    """`count` made-up names (bands, towns, pets), always the same ones whatever the seed."""
    pool = [o + v + m + e for o in _ONSETS for v in _VOWELS for m in _MIDDLES for e in _ENDINGS]
    common = {w for line in (EN_TAILS + EN_PLACES + EN_TIMES) for w in line.lower().split()}
    picked = [w for w in random.Random(20261203).sample(pool, count * 2)
              if len(w) >= 5 and w not in common]
    return [w.capitalize() for w in picked[:count]]


RARE_NAMES = _rare_names(1900)
RARE_TAIL = RARE_WORDS + RARE_NAMES  # ~2,000: a query for one finds a handful of posts


class Pool(Generic[T]):
    """Picks from `items` with Zipf-like weights (the first most often): 1 / rank**s."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, items: Sequence[T], s: float = 1.0) -> None:
        self.items = list(items)
        self.cum = list(accumulate(1 / (rank ** s) for rank in range(1, len(items) + 1)))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect(self.cum, rng.random() * self.total)]


class PostWriter:
    """Realistic post bodies: `post()` is (body, language). Deterministic for a given
    `rng` state and username list; bodies are at most POST_MAX characters."""

    def __init__(self, rng: random.Random, usernames: Sequence[str]) -> None:
        self.rng = rng
        self.usernames = list(usernames)
        self.languages = [lang for lang, _ in LANGUAGE_WEIGHTS]
        self.cum_weights = list(accumulate(w for _, w in LANGUAGE_WEIGHTS))
        self.en_verbs = Pool(EN_VERBS, 0.8)
        self.en_times, self.en_places = Pool(EN_TIMES, 1.1), Pool(EN_PLACES, 0.9)
        self.es_verbs = Pool(ES_VERBS, 0.8)
        self.es_times, self.es_places = Pool(ES_TIMES, 1.1), Pool(ES_PLACES, 0.9)
        self.zh_times, self.zh_places = Pool(ZH_TIMES), Pool(ZH_PLACES, 1.1)
        self.zh_acts, self.zh_subjects = Pool(ZH_ACTIVITIES, 0.9), Pool(ZH_SUBJECTS)
        self.tags = {"en": Pool(EN_TAGS, 0.9), "es": Pool(ES_TAGS, 0.9), "zh": Pool(ZH_TAGS)}
        self.shared_tags = Pool(SHARED_TAGS)

    def language(self) -> str:
        return self.rng.choices(self.languages, cum_weights=self.cum_weights)[0]

    def post(self) -> tuple[str, str]:
        rng = self.rng
        lang = self.language()
        sentences = 1 + (rng.random() < 0.45) + (rng.random() < 0.15)
        if lang == "en":
            parts = [self.english() for _ in range(sentences)]
        elif lang == "es":
            parts = [self.spanish() for _ in range(sentences)]
        else:
            parts = [self.chinese() for _ in range(sentences)]
        if rng.random() < RARE:
            parts.insert(rng.randrange(len(parts) + 1), self.rare(lang))
        joiner = "" if lang == "zh" else " "
        body = parts[0]
        for part in parts[1:]:
            if len(body) + len(joiner) + len(part) <= POST_MAX:
                body += joiner + part
        if self.usernames and rng.random() < MENTIONING:
            pattern = rng.choice(EN_MENTIONS if lang == "en" else
                                 ES_MENTIONS if lang == "es" else ZH_MENTIONS)
            mentioned = pattern.format(u=rng.choice(self.usernames), body=body)
            if len(mentioned) <= POST_MAX:
                body = mentioned
        if rng.random() < EMOJI:
            body = self.fit(body, " " + rng.choice(EMOJI_LIST))
        if rng.random() < TAGGED:
            body = self.tag(body, lang)
        return body, lang

    @staticmethod
    def fit(body: str, extra: str, front: bool = False) -> str:
        if len(body) + len(extra) > POST_MAX:
            return body
        return extra + body if front else body + extra

    def tag(self, body: str, lang: str) -> str:
        rng = self.rng
        count = 1 + (rng.random() < 0.4) + (rng.random() < 0.15)
        names: list[str] = []
        for _ in range(count * 3):  # draws may repeat a tag: try a few times for distinct ones
            if len(names) == count:
                break
            name = (self.shared_tags if rng.random() < 0.15 else self.tags[lang]).pick(rng)
            if name not in names:
                names.append(name)
        # people capitalise tags now and then: #Coffee is #coffee
        text = " ".join("#" + (n.capitalize() if rng.random() < 0.1 else n) for n in names)
        # a tag must not touch a word (`北京#北京` is not a tag), hence the spaces
        if rng.random() < 0.15:
            return self.fit(body, text + " ", front=True)
        return self.fit(body, " " + text)

    def english(self) -> str:
        rng = self.rng
        base, pres, past, pp, ing, objects = self.en_verbs.pick(rng)
        other = self.en_verbs.pick(rng)
        time_ = self.en_times.pick(rng)
        return rng.choice(EN_TEMPLATES).format(
            base=base, pres=pres, past=past, pp=pp, ing=ing, obj=rng.choice(objects),
            base2=other[0], obj2=rng.choice(other[5]), place=self.en_places.pick(rng),
            time=time_, later=rng.choice(EN_LATER), often=rng.choice(EN_OFTEN),
            Time=time_[0].upper() + time_[1:], Subj=rng.choice(EN_SUBJECTS),
            adj=rng.choice(EN_ADJECTIVES), tail=rng.choice(EN_TAILS),
            **{"with": rng.choice(EN_COMPANIONS)})

    def spanish(self) -> str:
        rng = self.rng
        inf, yo, el, ellos, yo_past, el_past, ger, objects = self.es_verbs.pick(rng)
        time_ = self.es_times.pick(rng)
        return rng.choice(ES_TEMPLATES).format(
            inf=inf, yo=yo, el=el, ellos=ellos, yo_past=yo_past, el_past=el_past, ger=ger,
            obj=rng.choice(objects), place=self.es_places.pick(rng), time=time_,
            Time=time_[0].upper() + time_[1:], later=rng.choice(ES_LATER),
            often=rng.choice(ES_OFTEN), Often=rng.choice(ES_OFTEN).capitalize(),
            Sing=rng.choice(ES_SINGULAR),
            Plur=rng.choice(ES_PLURAL), adj=rng.choice(ES_ADJECTIVES),
            tail=rng.choice(ES_TAILS), **{"with": rng.choice(ES_COMPANIONS)})

    def chinese(self) -> str:
        rng = self.rng
        return rng.choice(ZH_TEMPLATES).format(
            time=self.zh_times.pick(rng), subj=self.zh_subjects.pick(rng),
            place=self.zh_places.pick(rng), act=self.zh_acts.pick(rng),
            act2=self.zh_acts.pick(rng), comment=rng.choice(ZH_COMMENTS))

    def rare(self, lang: str) -> str:
        rng = self.rng
        templates = EN_RARE_TEMPLATES if lang == "en" else \
            ES_RARE_TEMPLATES if lang == "es" else ZH_RARE_TEMPLATES
        return rng.choice(templates).format(
            Name=rng.choice(RARE_NAMES), word=rng.choice(RARE_TAIL),
            idiom=rng.choice(ZH_IDIOMS))


# --- likes and reposts -------------------------------------------------------------------------

APPEAL = 1.5  # Pareto shape of a post's appeal: a few posts draw many likes, most draw few
SOON = 4  # a reaction comes (random() ** SOON) of the way from the post to now: mostly soon


class Reactions:
    """What people like or repost: each picks among the posts of the people they follow, in
    proportion to each post's appeal (Pareto-distributed, so a few posts are popular), and
    people differ in how much they react (exponential around the average). Offsets are
    seconds into the seeded span, as the posts' are; a reaction is at least a second after
    its post."""

    def __init__(self, rng: random.Random, authors: Sequence[int], offsets: Sequence[float],
                 span: float, follows: dict[int, list[int]]) -> None:
        self.rng, self.offsets, self.span, self.follows = rng, offsets, span, follows
        appeal = [rng.paretovariate(APPEAL) for _ in authors]
        by_author: dict[int, list[int]] = {}
        for i, author in enumerate(authors):
            if offsets[i] < span - 1:  # a post of the last second has no time for reactions
                by_author.setdefault(author, []).append(i)
        # author -> (their post indexes, cumulative appeal)
        self.posts = {author: (posts, list(accumulate(appeal[i] for i in posts)))
                      for author, posts in by_author.items()}

    def pick(self, user: int, average: float) -> list[tuple[int, float]]:
        """(post index, offset) of what `user` reacts to: `average` posts on average."""
        rng = self.rng
        count = round(rng.expovariate(1 / average)) if average > 0 else 0
        authors = [a for a in self.follows.get(user, ()) if a in self.posts]
        if not count or not authors:
            return []
        count = min(count, sum(len(self.posts[a][0]) for a in authors))
        cum = list(accumulate(self.posts[a][1][-1] for a in authors))
        chosen: dict[int, None] = {}  # ordered, so the result only depends on the rng
        for _ in range(4 * count):  # the very popular posts come up again and again
            posts, acc = self.posts[authors[min(bisect(cum, rng.random() * cum[-1]),
                                                len(authors) - 1)]]
            chosen[posts[min(bisect(acc, rng.random() * acc[-1]), len(posts) - 1)]] = None
            if len(chosen) == count:
                break
        picked = []
        for i in chosen:
            start = self.offsets[i] + 1
            picked.append((i, start + (self.span - start) * rng.random() ** SOON))
        return picked


# chat lines for private messages (not searched)
MESSAGE_LINES = [
    "Are you coming tonight?", "Ha, that's great!", "Let me check and get back to you.",
    "Did you see the match yesterday?", "Running late, sorry!", "Coffee tomorrow morning?",
    "Thanks for the book, I loved it.", "¿Quedamos mañana?", "¡Qué bueno verte ayer!",
    "Te mando las fotos luego.", "好的，明天见！", "你今天有空吗？", "谢谢你的咖啡！"]

BATCH = 20_000


async def seed(database_url: str, *, users: int, posts: int, follows: int, messages: int,
               password: str, likes: int = 20, reposts: int = 2,
               rng_seed: int | None = None) -> dict[str, int]:
    rng = random.Random(rng_seed)
    started = time.perf_counter()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    password_hash = _hasher.hash(password)  # once: argon2 per user would take minutes
    now = datetime.now(UTC)
    posts_seconds = 0.0
    try:
        with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as progress:
            first = (await conn.fetchval("SELECT COALESCE(MAX(id), 0) FROM users")) + 1
            task = progress.add_task("users", total=users)
            records = []
            for n in range(first, first + users):
                name = f"{rng.choice(ADJECTIVES)}_{rng.choice(NOUNS)}{n}"
                created = now - timedelta(days=rng.uniform(30, 400))
                # adjective_noun<n>: the words' skeletons differ and n is new, so no two
                # seeded names read alike (users.username_skeleton is unique)
                # seeded addresses count as confirmed (as if their owners opened the link)
                records.append((name, name.lower(), username_skeleton(name),
                                f"{name.lower()}@example.com", password_hash,
                                rng.choice(ABOUT), None, 0,
                                now - timedelta(minutes=rng.uniform(0, 60 * 24 * 30)), created,
                                created))
            await conn.copy_records_to_table(
                "users", records=records,
                columns=["username", "username_key", "username_skeleton", "email",
                         "password_hash", "about_me", "locale", "session_epoch", "last_seen",
                         "created_at", "email_verified_at"])
            progress.update(task, completed=users)
            ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM users WHERE id >= $1 ORDER BY id", first)]
            people = await conn.fetch("SELECT id, username FROM users ORDER BY id")
            everyone = [r["id"] for r in people]

            task = progress.add_task("follows", total=len(ids) * min(follows, len(everyone) - 1))
            pairs = []
            for uid in ids:
                targets = rng.sample(everyone, min(follows + 1, len(everyone)))
                for target in [t for t in targets if t != uid][:follows]:
                    pairs.append((uid, target, now - timedelta(days=rng.uniform(0, 30))))
            existing = {(r["follower_id"], r["followed_id"]) for r in await conn.fetch(
                "SELECT follower_id, followed_id FROM follows WHERE follower_id >= $1", first)}
            pairs = [p for p in pairs if (p[0], p[1]) not in existing]
            for i in range(0, len(pairs), BATCH):
                await conn.copy_records_to_table(
                    "follows", records=pairs[i:i + BATCH],
                    columns=["follower_id", "followed_id", "created_at"])
                progress.update(task, advance=len(pairs[i:i + BATCH]))

            span = timedelta(days=60).total_seconds()
            offsets = sorted(rng.uniform(0, span) for _ in range(posts))
            authors = [rng.choice(ids) for _ in range(posts)]
            followed: dict[int, list[int]] = {}
            for follower, target, _ in pairs:
                followed.setdefault(follower, []).append(target)
            reactions = Reactions(rng, authors, offsets, span, followed)
            shares = sorted((offset, i, uid) for uid in ids
                            for i, offset in reactions.pick(uid, reposts))
            liked = [(i, uid, offset) for uid in ids for i, offset in reactions.pick(uid, likes)]
            # posts and reposts share the posts' id sequence and timelines order both by id,
            # so ids grow with time: take them all at once, then hand them out in time order
            taken = sorted(await conn.fetchval(
                "SELECT array_agg(nextval(pg_get_serial_sequence('posts', 'id'))) "
                "FROM generate_series(1, $1)", posts + len(shares))) if posts else []
            next_id = iter(taken)
            post_ids: list[int] = []
            share_ids: list[int] = []
            for offset in offsets:
                while len(share_ids) < len(shares) and shares[len(share_ids)][0] < offset:
                    share_ids.append(next(next_id))
                post_ids.append(next(next_id))
            share_ids.extend(next_id)
            # the posts are copied with their counters, counted from the rows copied after
            # them: an UPDATE of the posts afterwards would cost more than all the likes (it
            # rewrites each row and runs the posts' update trigger); no comments are seeded
            like_counts = Counter(i for i, _, _ in liked)
            repost_counts = Counter(i for _, i, _ in shares)

            def at(offset: float) -> datetime:
                return now - timedelta(seconds=span - offset)

            task = progress.add_task("posts", total=posts)
            posts_started = time.perf_counter()
            writer = PostWriter(rng, [r["username"] for r in people])

            def batch(start: int) -> list[tuple[int, int, str, str, datetime, list[str], int, int]]:
                chunk = []
                for i in range(start, min(start + BATCH, posts)):
                    body, lang = writer.post()
                    chunk.append((post_ids[i], authors[i], body, lang, at(offsets[i]),
                                  hashtags(body), like_counts[i], repost_counts[i]))
                return chunk

            # PostgreSQL indexes each batch (the triggers) while the next one is written in a
            # thread: batches are still written one after the other, so the data only
            # depends on the seed
            loop = asyncio.get_running_loop()
            chunk = batch(0) if posts else []
            for i in range(0, posts, BATCH):
                following = loop.run_in_executor(None, batch, i + BATCH) \
                    if i + BATCH < posts else None
                try:
                    await conn.copy_records_to_table(
                        "posts", records=chunk,
                        columns=["id", "author_id", "body", "language", "created_at", "tags",
                                 "like_count", "repost_count"])
                finally:
                    upcoming = await following if following is not None else []
                progress.update(task, advance=len(chunk))
                chunk = upcoming
            posts_seconds = time.perf_counter() - posts_started

            task = progress.add_task("likes", total=len(liked))
            for i in range(0, len(liked), BATCH):
                await conn.copy_records_to_table(
                    "likes", records=[(post_ids[p], uid, at(offset))
                                      for p, uid, offset in liked[i:i + BATCH]],
                    columns=["post_id", "user_id", "created_at"])
                progress.update(task, advance=len(liked[i:i + BATCH]))
            task = progress.add_task("reposts", total=len(shares))
            for i in range(0, len(shares), BATCH):
                await conn.copy_records_to_table(
                    "reposts", records=[(share_ids[n], post_ids[p], uid, at(offset))
                                        for n, (offset, p, uid) in
                                        enumerate(shares[i:i + BATCH], start=i)],
                    columns=["id", "post_id", "user_id", "created_at"])
                progress.update(task, advance=len(shares[i:i + BATCH]))

            task = progress.add_task("messages", total=messages)
            # conversations mostly between people who follow each other's posts
            pair_pool = [(p[0], p[1]) for p in pairs] or [(ids[0], ids[-1])]
            msg_offsets = sorted(rng.uniform(0, span) for _ in range(messages))
            for i in range(0, messages, BATCH):
                msgs = []
                for offset in msg_offsets[i:i + BATCH]:
                    a, b = rng.choice(pair_pool)
                    if rng.random() < 0.5:
                        a, b = b, a
                    msgs.append((a, b, rng.choice(MESSAGE_LINES),
                                 now - timedelta(seconds=span - offset)))
                await conn.copy_records_to_table(
                    "messages", records=msgs,
                    columns=["sender_id", "recipient_id", "body", "created_at"])
                progress.update(task, advance=len(msgs))
            if messages:
                # both sides of each conversation, everything seeded counted as read
                await conn.execute("""
                    WITH pairs AS (
                      SELECT sender_id AS u, recipient_id AS p, max(id) AS last,
                             max(created_at) AS at FROM messages GROUP BY 1, 2
                      UNION ALL
                      SELECT recipient_id, sender_id, max(id), max(created_at)
                      FROM messages GROUP BY 1, 2)
                    INSERT INTO conversations
                      (user_id, partner_id, last_message_id, last_read_id, unread, updated_at)
                    SELECT u, p, max(last), max(last), 0, max(at) FROM pairs GROUP BY u, p
                    ON CONFLICT (user_id, partner_id) DO UPDATE SET
                      last_message_id = EXCLUDED.last_message_id,
                      last_read_id = EXCLUDED.last_read_id, unread = 0,
                      updated_at = EXCLUDED.updated_at""")
        await conn.execute("ANALYZE users; ANALYZE follows; ANALYZE posts; ANALYZE post_tags; "
                           "ANALYZE search_words; ANALYZE messages; ANALYZE conversations; "
                           "ANALYZE likes; ANALYZE reposts;")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - started
    rate = f" ({posts / posts_seconds:,.0f} posts/s)" if posts and posts_seconds else ""
    print(f"seeded {users} users, {len(pairs)} follows, {posts} posts{rate}, {len(liked)} likes, "
          f"{len(shares)} reposts, {messages} messages in {elapsed:.1f}s "
          f"(password for every seeded user: {password!r})")
    return {"users": users, "follows": len(pairs), "posts": posts, "likes": len(liked),
            "reposts": len(shares), "messages": messages}
