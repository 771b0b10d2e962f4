"""A generated homebrew pack of any size, deterministic for a seed, shaped like the SRD.

    from brew import generate
    pack = generate(folder, 100_000)      # folder/bench-brew: pack.toml, spells/, monsters/, …

Every entry is made from an SRD 2014 entry of its collection (chosen by the seed): the same
fields with the same kinds of values, each text replaced by generated prose of the same length
(a word-level Markov chain of order 2 over the SRD's own descriptions), and a new name made of
words used in SRD names (plus invented proper names: "Vorath's Ember Lance"). So names, field
sizes, passage counts, vocabulary and word frequencies are those of real 5e content, while no
two entries are the same.

Layout (the formats a homebrew author uses): spells (40 %) as Markdown files with YAML front
matter, one per file; monsters (40 %, a tenth of them partial overrides extending the SRD
goblin) and magic items (20 %) in JSON lists of 100.
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins" / "d5e-srd"))

from d5e_srd import data_files  # noqa: E402

from d5e_daemon.text import slugify  # noqa: E402

PACK_ID = "bench-brew"
SHARES = (("spells", 0.4), ("monsters", 0.4), ("magic-items", 0.2))
LIST_SIZE = 100
SHORT = 8
"""Texts of fewer words are labels ("Wondrous item, rare"), kept as they are."""
SYLLABLES = "ar bel cor dra el fen gor hal ith jor kal lor mor nar oth pel quin ras sul tor ul vor"
SYLLABLES += " wyn xan yr zel ae bri cae dun eth fal gri hel ix ka lu mi ny or pra rho sha thi vu"
TABLES = {"spells": "spells", "monsters": "monsters", "magic-items": "magic_items"}


@dataclass
class Corpus:
    """What generation draws on: SRD records per collection, name words, a Markov chain."""

    records: dict[str, list[dict[str, Any]]]
    name_words: list[str]
    chain: dict[tuple[str, str], list[str]]
    starts: list[tuple[str, str]]


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for k, v in value.items() if k == "desc" or isinstance(v, list | dict)
                for t in _texts(v)]  # fmt: skip
    return []


def _strip_urls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_urls(v) for k, v in value.items() if k not in ("url", "image")}
    if isinstance(value, list):
        return [_strip_urls(v) for v in value]
    return value


def load_corpus() -> Corpus:
    path = data_files()["2014"]
    conn = apsw.Connection(f"file:{path}?mode=ro&immutable=1", flags=apsw.SQLITE_OPEN_URI | 1)
    records = {}
    for collection, table in TABLES.items():
        rows = conn.execute(f'SELECT data FROM "{table}" ORDER BY "index"')  # noqa: S608
        records[collection] = [_strip_urls(json.loads(data)) for (data,) in rows]
    conn.close()
    words = Counter(
        w for rows in records.values() for r in rows for w in re.findall(r"[A-Za-z]+", r["name"])
    )
    name_words = [w for w, _ in words.most_common() if len(w) > 2 and w[0].isupper()]
    chain: dict[tuple[str, str], list[str]] = {}
    starts = []
    for rows in records.values():
        for record in rows:
            for paragraph in _texts(record.get("desc", [])) + [
                t for key in ("actions", "special_abilities") for t in _texts(record.get(key))
            ]:
                tokens = paragraph.split()
                for i in range(len(tokens) - 2):
                    if i == 0 or tokens[i - 1].endswith("."):
                        starts.append((tokens[i], tokens[i + 1]))
                    chain.setdefault((tokens[i], tokens[i + 1]), []).append(tokens[i + 2])
    return Corpus(records, name_words, chain, starts)


class Writer:
    """Names and prose for one pack, from one seeded random generator."""

    def __init__(self, corpus: Corpus, seed: int) -> None:
        self.corpus = corpus
        self.rng = random.Random(seed)
        self.slugs: set[tuple[str, str]] = set()

    def prose(self, words: int) -> str:
        """Sentences of the SRD's kind, `words` words in all (the last one cut short)."""
        rng, chain = self.rng, self.corpus.chain
        out: list[str] = []
        while len(out) < words:
            a, b = rng.choice(self.corpus.starts)
            sentence = [a, b]
            while not sentence[-1].endswith(".") and len(sentence) < 60:
                following = chain.get((sentence[-2], sentence[-1]))
                if not following:
                    break
                sentence.append(rng.choice(following))
            out += sentence
        text = " ".join(out[:words]).rstrip(".,;:")
        return text + "."

    def proper_name(self) -> str:
        syllables = SYLLABLES.split()
        return "".join(self.rng.choice(syllables) for _ in range(self.rng.randint(2, 3))).title()

    def name(self, collection: str) -> tuple[str, str]:
        """A new name and its slug, unique in the collection."""
        rng, pick = self.rng, lambda: self.rng.choice(self.corpus.name_words)
        while True:
            form = rng.random()
            if form < 0.25:
                name = f"{self.proper_name()}'s {pick()} {pick()}"
            elif form < 0.45:
                name = f"{pick()} of {pick()}"
            elif form < 0.55:
                name = f"{pick()} {pick()} of the {pick()}"
            elif form < 0.8:
                name = f"{pick()} {pick()}"
            else:
                name = f"{pick()} {pick()} {pick()}"
            slug = slugify(name)
            if (collection, slug) not in self.slugs:
                self.slugs.add((collection, slug))
                return name, slug

    def rewrite(self, value: Any) -> Any:
        """`value` with every description replaced by prose of the same length."""
        if isinstance(value, dict):
            return {
                k: self.rewrite_text(v) if k in ("desc", "higher_level") else self.rewrite(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.rewrite(v) for v in value]
        return value

    def rewrite_text(self, value: Any) -> Any:
        if isinstance(value, str):
            words = len(value.split())
            # a short line is a label ("Wondrous item, rare"), shared by many entries
            return value if words < SHORT else self.prose(words)
        if isinstance(value, list):
            return [self.rewrite_text(v) for v in value]
        return value

    def entry(self, collection: str) -> dict[str, Any]:
        template = self.rng.choice(self.corpus.records[collection])
        name, slug = self.name(collection)
        fields = {k: v for k, v in template.items() if k not in ("index", "name")}
        if isinstance(fields.get("speed"), dict):  # the pack format takes no `"hover": true`
            fields["speed"] = {k: v for k, v in fields["speed"].items() if k != "hover"}
        return {"name": name, "slug": slug, **self.rewrite(fields)}


def _spell_markdown(entry: dict[str, Any]) -> str:
    """A spell as an author writes it: simple front matter, the description as the body."""
    front = {k: v for k, v in entry.items() if k not in ("desc", "subclasses")}
    for key in ("school", "damage", "dc", "area_of_effect"):
        if isinstance(front.get(key), dict) and "name" in front[key]:
            front[key] = front[key]["name"].lower()
    if "classes" in front:
        front["classes"] = [c["name"].lower() for c in front["classes"]]
    body = "\n\n".join(entry.get("desc", []))
    dumped = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{dumped}---\n{body}\n"


def counts(entries: int) -> dict[str, int]:
    """How many entries of each collection a pack of `entries` has."""
    out = {c: int(entries * share) for c, share in SHARES}
    out["spells"] += entries - sum(out.values())
    return out


def generate(root: Path, entries: int, seed: int = 5) -> Path:
    """A pack of `entries` entries under `root/bench-brew`."""
    writer = Writer(load_corpus(), seed)
    pack = root / PACK_ID
    pack.mkdir(parents=True)
    (pack / "pack.toml").write_text(
        f'id = "{PACK_ID}"\ntitle = "Bench Brew"\nversion = "1"\nedition = "2014"\n'
    )
    wanted = counts(entries)
    (pack / "spells").mkdir()
    for _ in range(wanted["spells"]):
        spell = writer.entry("spells")
        (pack / "spells" / f"{spell['slug']}.md").write_text(_spell_markdown(spell))
    for collection in ("monsters", "magic-items"):
        (pack / collection).mkdir()
        for start in range(0, wanted[collection], LIST_SIZE):
            batch = []
            for i in range(start, min(start + LIST_SIZE, wanted[collection])):
                if collection == "monsters" and i % 10 == 0:
                    name, slug = writer.name(collection)
                    goblin = {"name": name, "slug": slug, "extends": "srd-2014:monsters/goblin"}
                    batch.append(goblin | {"xp": i, "desc": writer.prose(60)})
                else:
                    batch.append(writer.entry(collection))
            file = pack / collection / f"{collection}-{start // LIST_SIZE:04d}.json"
            file.write_text(json.dumps(batch, indent=1))
    return pack


def sample(pack: Path, n: int) -> list[tuple[str, str]]:
    """(ref, name) of `n` entries of a generated pack, from every collection (spells read from
    the first files, monsters and items from the first lists)."""
    per = max(1, n // 3)
    found = []
    for file in sorted((pack / "spells").glob("*.md"))[:per]:
        front = yaml.safe_load(file.read_text().split("---\n")[1])
        found.append((f"spells/{front['slug']}", front["name"]))
    for collection in ("monsters", "magic-items"):
        entries = json.loads(next(iter(sorted((pack / collection).glob("*.json")))).read_text())
        found += [(f"{collection}/{e['slug']}", e["name"]) for e in entries[1 : per + 1]]
    return found[:n]


if __name__ == "__main__":
    import tempfile
    import time

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        made = generate(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
        files = list(made.rglob("*.*"))
        size = sum(f.stat().st_size for f in files)
        print(f"{len(files)} files, {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
        print((made / "spells").iterdir().__next__().read_text()[:1500])
