#!/usr/bin/env python3
"""Builds the seed corpus of every fuzz target, fuzz/corpus/<target>/, from the published test
vectors (tests/vectors/v1) and the committed crash inputs (fuzz/regressions/<target>/).

Seeds are named by their SHA-1, as libFuzzer names what it adds, so running this again adds
nothing twice and keeps what the fuzzer found. Usage: scripts/fuzz-corpus.py [ROOT]
"""
import hashlib
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
vectors = root / "tests" / "vectors" / "v1"
corpus = root / "fuzz" / "corpus"
regressions = root / "fuzz" / "regressions"


def text(name):
    return (vectors / name).read_text(encoding="utf-8")


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def packet_sections(data):
    """(type, body) of every section of a transfer packet."""
    first, _, rest = data.partition(b"\n")
    out = []
    while rest:
        head, _, rest = rest.partition(b"\n")
        kind, _, length = head.partition(b" ")
        n = int(length)
        out.append((kind.decode(), rest[:n]))
        rest = rest[n + 1:]
    return out


records = text("records.jsonl").splitlines()
invalid = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((vectors / "invalid").glob("*.json"))]
invalid_lines = [case["line"] for case in invalid]
proofs = json.loads(text("proofs.json"))
notes = json.loads(text("notes.json"))
cosignatures = json.loads(text("cosignatures.json"))
checkpoint = text("checkpoint.txt")
ledger_vkey = text("ledger.vkey").strip()
packet = (vectors / "packet.packet").read_bytes()
sections = packet_sections(packet)
tlog_proofs = [body for kind, body in sections if kind == "proof"]
size = int(checkpoint.split("\n")[1])

seeds = {
    "jcs": records[:20] + invalid_lines + [text("trust.json"), text("proofs.json")],
    "record": records + invalid_lines,
    "validate": records + invalid_lines,
    "packet": [packet],
    "note": [checkpoint, ledger_vkey]
    + [n["note"] for n in notes["notes"]]
    + [n["vkey"] for n in notes["notes"] if "vkey" in n],
    "cosignature": [checkpoint, cosignatures["log_vkey"]]
    + [c["note"] for c in cosignatures["cases"]]
    + cosignatures["witnesses"],
    "proof": [canonical(p) for p in proofs["inclusion"] + proofs["consistency"]] + tlog_proofs,
    "gateway_body": records[:40]
    + invalid_lines
    + ["\n".join(records[i:i + 5]) + "\n" for i in range(0, 40, 5)]
    + ["\r\n".join(records[:3]) + "\r\n\n  \n"],
    "witness_body": ["old 0\n\n" + checkpoint]
    + [
        "old %d\n" % p["old_size"] + "".join(h + "\n" for h in p["hashes"]) + "\n" + checkpoint
        for p in proofs["consistency"]
        if p["new_size"] == size
    ],
}

added = 0
for target, items in seeds.items():
    out = corpus / target
    out.mkdir(parents=True, exist_ok=True)
    extra = sorted((regressions / target).glob("*")) if (regressions / target).is_dir() else []
    for item in items + [p.read_bytes() for p in extra]:
        data = item.encode("utf-8") if isinstance(item, str) else item
        path = out / hashlib.sha1(data).hexdigest()
        if not path.exists():
            path.write_bytes(data)
            added += 1
print("fuzz corpus: %d seeds added under %s (%s)" % (added, corpus, ", ".join(seeds)))
