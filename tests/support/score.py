#!/usr/bin/env python3
# Verbatim copy of the dev-set scorer (quality/score.py of the shared fixtures, outside the repository) so tests never read outside the repo.
"""Score a meeting analyzer's action items and decisions against hand-checked gold labels.

Each meeting (a QMSum/AMI transcript, JSON) becomes a Fathom "new meeting content ready" payload with
fixed people and 4 seconds per turn (turn i is said at i*4 s). The command you give is run once per
payload with the payload's path appended; it must print the analysis as JSON on stdout, shaped like
MeetingAnalysis ({"action_items": [...], "decisions": [...], ...}). Field names are read tolerantly:
items: text|description, owner_email|owner.email|assignee.email, source_timestamp|timestamp (HH:MM:SS
or seconds); decisions: what|text|decision, status, source_timestamp|timestamp.

A prediction matches a gold entry when it was said within 3 turns of the gold evidence and shares
content words with it, or (without a usable timestamp) when its words overlap the gold text strongly.
Matching is one-to-one, best pairs first.

Usage:
  score.py --analyze "fathom-os analyze --json --offline" [--meetings DIR] [--labels DIR] [--only ES2006a,...]
           [--json OUT] [--payloads DIR] [--examples N]
Defaults: meetings and labels from ../fixtures/qmsum/ next to this script.
Stdlib only; Python 3.10+.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = HERE.parent / "fixtures" / "qmsum"
SECONDS_PER_TURN = 4
NEAR_TURNS = 3
DOMAIN = "agency.example"
PEOPLE = {  # AMI role -> (name, e-mail)
    "Project Manager": ("Maya Chen", f"maya@{DOMAIN}"),
    "Marketing": ("Jonas Reed", f"jonas@{DOMAIN}"),
    "User Interface": ("Priya Nair", f"priya@{DOMAIN}"),
    "Industrial Designer": ("Omar Haddad", f"omar@{DOMAIN}"),
}
ROLE_OF_EMAIL = {email: role for role, (_, email) in PEOPLE.items()}
ROLE_OF_NAME = {name.lower(): role for role, (name, _) in PEOPLE.items()}
STOP = set("""a an and are as at be been but by can could did do does doing done for from had has have he her his
i if in into is it its just like me my no not now of on or our out so some than that the their them then there
these they this those to too up us very was we well were what when where which who will with would yeah yes you
your okay ok um uh mm hmm gonna wanna going get got also one two really think know mean right sort kind thing
things maybe""".split())


# ------------------------------------------------------------------ payloads
def clean(text: str) -> str:
    return " ".join(re.sub(r"\{[a-z]+\}", "", text).split())


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def payload_for(name: str, meeting: dict) -> dict:
    turns = meeting["meeting_transcripts"]
    rid = 700_000 + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16) % 99_999
    end = SECONDS_PER_TURN * len(turns)
    invitees = [{"name": n, "email": e, "email_domain": DOMAIN, "is_external": False,
                 "matched_speaker_display_name": n} for n, e in PEOPLE.values()]
    transcript = []
    for i, t in enumerate(turns):
        text = clean(t.get("content") or "")
        if not text:
            continue
        person = PEOPLE.get(t.get("speaker") or "")
        display, email = person if person else (t.get("speaker") or "Speaker", None)
        transcript.append({"speaker": {"display_name": display, "matched_calendar_invitee_email": email},
                           "text": text, "timestamp": hms(SECONDS_PER_TURN * i)})
    start = "2025-03-04T10:00:00Z"
    return {
        "title": f"Product design meeting {name}", "meeting_title": f"Product design meeting {name}",
        "recording_id": rid, "url": f"https://fathom.video/calls/{rid}", "share_url": f"https://fathom.video/share/{rid}",
        "created_at": start, "scheduled_start_time": start, "scheduled_end_time": "2025-03-04T11:00:00Z",
        "recording_start_time": start, "recording_end_time": f"2025-03-04T{10 + end // 3600:02d}:{end % 3600 // 60:02d}:00Z",
        "calendar_invitees_domains_type": "only_internal", "transcript_language": "en",
        "calendar_invitees": invitees, "recorded_by": {"name": "Maya Chen", "email": f"maya@{DOMAIN}",
                                                        "email_domain": DOMAIN, "team": None},
        "transcript": transcript, "default_summary": None, "action_items": [],
    }


# ------------------------------------------------------------------ reading predictions
def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z']+", (text or "").lower()) if len(w) > 2 and w not in STOP}


def seconds_of(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*(?:(\d+):)?(\d{1,2}):(\d{2})(?:\.\d+)?\s*", str(value))
    if not m:
        return None
    h, mnt, s = int(m.group(1) or 0), int(m.group(2)), int(m.group(3))
    return float(h * 3600 + mnt * 60 + s)


def first(d: dict, *keys):
    for k in keys:
        v = d
        for part in k.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if v not in (None, ""):
            return v
    return None


@dataclass
class Pred:
    text: str
    turn: float | None
    owner: str | None = None  # AMI role, "team" or None
    status: str | None = None


def owner_role(item: dict) -> str | None:
    email = first(item, "owner_email", "owner.email", "assignee.email")
    if email and email.lower() in ROLE_OF_EMAIL:
        return ROLE_OF_EMAIL[email.lower()]
    name = first(item, "owner_name", "owner.name", "assignee.name", "owner")
    if isinstance(name, str):
        if name.lower() in ROLE_OF_NAME:
            return ROLE_OF_NAME[name.lower()]
        if name.lower() in ("team", "everyone", "all", "we"):
            return "team"
    return None


def preds_of(analysis: dict) -> tuple[list[Pred], list[Pred]]:
    def turn(d):
        s = seconds_of(first(d, "source_timestamp", "timestamp", "evidence_timestamp", "recording_timestamp"))
        return None if s is None else s / SECONDS_PER_TURN
    items = [Pred(str(first(i, "text", "description") or ""), turn(i), owner_role(i))
             for i in analysis.get("action_items") or [] if isinstance(i, dict)]
    decisions = [Pred(" ".join(str(x) for x in (first(d, "what", "text", "decision"), d.get("why")) if x), turn(d),
                      status=d.get("status")) for d in analysis.get("decisions") or [] if isinstance(d, dict)]
    return items, decisions


# ------------------------------------------------------------------ matching
def score_pair(p: Pred, g: dict) -> float:
    gold_words = words(g.get("text", "")) | words(g.get("evidence", ""))
    pw = words(p.text)
    if not pw or not gold_words:
        return 0.0
    overlap = len(pw & gold_words)
    f1 = 2 * overlap / (len(pw) + len(gold_words))
    if p.turn is not None:
        near = min((abs(p.turn - t) for t in g.get("turns") or []), default=99)
        if near <= NEAR_TURNS and overlap >= 1:
            return 1.0 + f1 - near / 100  # said at the right place and about the same thing
    return f1 if f1 >= 0.4 else 0.0


def match(preds: list[Pred], golds: list[dict]) -> list[tuple[int, int]]:
    pairs = sorted(((score_pair(p, g), i, j) for i, p in enumerate(preds) for j, g in enumerate(golds)), reverse=True)
    used_p, used_g, out = set(), set(), []
    for s, i, j in pairs:
        if s <= 0 or i in used_p or j in used_g:
            continue
        used_p.add(i), used_g.add(j), out.append((i, j))
    return out


@dataclass
class Tally:
    pred: int = 0
    gold: int = 0
    hit_pred: int = 0
    hit_gold: int = 0
    owner_ok: int = 0
    owner_n: int = 0
    noise: list = field(default_factory=list)
    missed: list = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        for k in ("pred", "gold", "hit_pred", "hit_gold", "owner_ok", "owner_n"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.noise += other.noise
        self.missed += other.missed

    @property
    def precision(self) -> float | None:
        return self.hit_pred / self.pred if self.pred else None

    @property
    def recall(self) -> float | None:
        return self.hit_gold / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)


def score_items(name: str, preds: list[Pred], golds: list[dict]) -> Tally:
    t = Tally(pred=len(preds), gold=len(golds))
    pairs = match(preds, golds)
    t.hit_pred = t.hit_gold = len(pairs)
    for i, j in pairs:
        g = golds[j]["owner"]
        if g != "team":
            t.owner_n += 1
            t.owner_ok += preds[i].owner == g
    hit_p, hit_g = {i for i, _ in pairs}, {j for _, j in pairs}
    t.noise = [f"{name}: {p.text[:110]}" for i, p in enumerate(preds) if i not in hit_p]
    t.missed = [f"{name} (turn {golds[j]['turns'][0] if golds[j].get('turns') else '?'}): {golds[j]['text'][:110]}"
                for j in range(len(golds)) if j not in hit_g]
    return t


def score_decisions(name: str, preds: list[Pred], golds: list[dict]) -> tuple[Tally, int, int]:
    """Precision over every gold decision (recaps included); recall over made + tentative ones.
    Also (recaps matched, recaps matched and marked recap)."""
    t = Tally(pred=len(preds), gold=sum(1 for g in golds if g.get("status") != "recap"))
    pairs = match(preds, golds)
    t.hit_pred = len(pairs)
    t.hit_gold = sum(1 for _, j in pairs if golds[j].get("status") != "recap")
    recaps = [(i, j) for i, j in pairs if golds[j].get("status") == "recap"]
    marked = sum(1 for i, _ in recaps if (preds[i].status or "").lower() == "recap")
    hit_p, hit_g = {i for i, _ in pairs}, {j for _, j in pairs}
    t.noise = [f"{name}: {p.text[:110]}" for i, p in enumerate(preds) if i not in hit_p]
    t.missed = [f"{name} (turn {golds[j]['turns'][0] if golds[j].get('turns') else '?'}): {golds[j]['text'][:110]}"
                for j in range(len(golds)) if j not in hit_g and golds[j].get("status") != "recap"]
    return t, len(recaps), marked


# ------------------------------------------------------------------ main
def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--analyze", required=True, help="command; the payload path is appended")
    ap.add_argument("--meetings", type=Path, default=DEFAULT_DIR / "meetings")
    ap.add_argument("--labels", type=Path, default=DEFAULT_DIR / "labels")
    ap.add_argument("--only", default="", help="comma-separated meeting names")
    ap.add_argument("--json", type=Path, help="write the full report here")
    ap.add_argument("--payloads", type=Path, help="keep the generated payloads in this folder")
    ap.add_argument("--examples", type=int, default=8, help="noise and missed examples to print")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per meeting")
    args = ap.parse_args()

    names = sorted(p.stem for p in args.labels.glob("*.json"))
    if args.only:
        wanted = set(args.only.split(","))
        names = [n for n in names if n in wanted]
    if not names:
        print(f"no labels in {args.labels}", file=sys.stderr)
        return 2
    out_dir = args.payloads or Path(tempfile.mkdtemp(prefix="quality-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    items_all, dec_all = Tally(), Tally()
    recaps_all = marked_all = 0
    rows, report = [], {"meetings": {}}
    print(f"{'meeting':10} {'items P':>7} {'R':>5} {'gold':>4} {'pred':>4} {'owner':>5}   {'decisions P':>11} {'R':>5} {'gold':>4} {'pred':>4}   secs")
    for name in names:
        meeting = json.loads((args.meetings / f"{name}.json").read_text())
        labels = json.loads((args.labels / f"{name}.json").read_text())
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(payload_for(name, meeting), indent=1))
        t0 = time.monotonic()
        proc = subprocess.run([*shlex.split(args.analyze), str(path)], capture_output=True, text=True, timeout=args.timeout)
        secs = time.monotonic() - t0
        if proc.returncode != 0:
            print(f"{name}: the command failed ({proc.returncode}): {proc.stderr.strip()[-400:]}", file=sys.stderr)
            return 1
        try:
            analysis = json.loads(proc.stdout[proc.stdout.index("{"):])
        except ValueError:
            print(f"{name}: the command did not print JSON: {proc.stdout[:300]!r}", file=sys.stderr)
            return 1
        analysis = analysis.get("analysis", analysis)
        items, decisions = preds_of(analysis)
        ti = score_items(name, items, labels.get("action_items") or [])
        td, recaps, marked = score_decisions(name, decisions, labels.get("decisions") or [])
        items_all.add(ti), dec_all.add(td)
        recaps_all += recaps
        marked_all += marked
        own = f"{ti.owner_ok}/{ti.owner_n}" if ti.owner_n else "-"
        print(f"{name:10} {fmt(ti.precision):>7} {fmt(ti.recall):>5} {ti.gold:>4} {ti.pred:>4} {own:>5}   "
              f"{fmt(td.precision):>11} {fmt(td.recall):>5} {td.gold:>4} {td.pred:>4}   {secs:5.1f}")
        report["meetings"][name] = {"items": vars(ti) | {"precision": ti.precision, "recall": ti.recall},
                                    "decisions": vars(td) | {"precision": td.precision, "recall": td.recall},
                                    "seconds": secs}
    owner = items_all.owner_ok / items_all.owner_n if items_all.owner_n else None
    print(f"{'ALL':10} {fmt(items_all.precision):>7} {fmt(items_all.recall):>5} {items_all.gold:>4} {items_all.pred:>4} "
          f"{fmt(owner):>5}   {fmt(dec_all.precision):>11} {fmt(dec_all.recall):>5} {dec_all.gold:>4} {dec_all.pred:>4}")
    print(f"action items: precision {fmt(items_all.precision)} recall {fmt(items_all.recall)} F1 {fmt(items_all.f1)} "
          f"owner accuracy {fmt(owner)} ({items_all.owner_ok}/{items_all.owner_n})")
    print(f"decisions (made + tentative): precision {fmt(dec_all.precision)} recall {fmt(dec_all.recall)} "
          f"F1 {fmt(dec_all.f1)}; recaps found {recaps_all}, marked as recap {marked_all}")
    for title, rows_ in (("action items that match no gold item", items_all.noise),
                         ("gold action items missed", items_all.missed),
                         ("decisions that match no gold decision", dec_all.noise),
                         ("gold decisions missed", dec_all.missed)):
        if rows_ and args.examples:
            print(f"\n{title} ({len(rows_)}), first {min(args.examples, len(rows_))}:")
            for row in rows_[:args.examples]:
                print(f"  - {row}")
    if args.json:
        report["total"] = {"items": {"precision": items_all.precision, "recall": items_all.recall, "f1": items_all.f1,
                                     "owner_accuracy": owner, "pred": items_all.pred, "gold": items_all.gold},
                           "decisions": {"precision": dec_all.precision, "recall": dec_all.recall, "f1": dec_all.f1,
                                         "pred": dec_all.pred, "gold": dec_all.gold, "recaps_found": recaps_all,
                                         "recaps_marked": marked_all}}
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
