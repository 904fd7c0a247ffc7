"""The command line, run as a person runs it: `python -m service ...` in a subprocess."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import DATA

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: str = "", env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    environment = {**inherited, "BOT_LOG_LEVEL": "WARNING", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "service", *args], input=stdin, capture_output=True, text=True, cwd=ROOT, env=environment, timeout=timeout
    )


def test_ask_prints_the_answer():
    result = run("ask", "how long does the 5ml recovery last?")
    assert result.returncode == 0
    assert "18 days" in result.stdout


def test_ask_json_for_a_region():
    result = run("ask", "is it safe during pregnancy?", "--region", "AU", "--json")
    reply = json.loads(result.stdout)
    assert reply["kind"] == "answer" and reply["intent"] == "pregnancy"
    assert "Salicylic Acid Gel" in reply["text"]


def test_default_region_comes_from_the_environment():
    result = run("ask", "is it safe during pregnancy?", "--json", env={"BOT_DEFAULT_REGION": "AU"})
    assert json.loads(result.stdout)["region"] == "AU"


def test_a_bad_setting_is_one_clear_line():
    result = run("ask", "hi", env={"BOT_DEFAULT_REGION": "Mars"})
    assert result.returncode == 1
    assert result.stderr.strip() == "neogenesis-bot: BOT_DEFAULT_REGION must be one of AU, US"


def test_jsonl_answers_each_line_on_its_own():
    lines = [
        {"text": "can i talk to a person", "region": "AU"},
        {"text": "recovery vs booster?"},
        {"text": "what is the weather in sydney"},
        {"text": "booster or skin serum or recovery?", "channel": "slack"},
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    result = run("ask", "--jsonl", stdin=stdin)
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(replies) == 5
    assert replies[0]["kind"] == "escalate" and replies[0]["escalate_to"] == "customerservice@neogenesispro.com.au"
    assert replies[1]["kind"] == "answer" and "70%" in replies[1]["text"]
    assert replies[2]["kind"] == "fallback"
    for reply in replies[:4]:
        assert set(reply) >= {"kind", "intent", "score", "text", "options", "escalate_to"}
    assert "error" in replies[4]


def test_jsonl_lines_of_one_conversation_follow_up_on_each_other():
    lines = [
        {"text": "how long does the 5ml recovery bottle last?", "region": "AU", "conversation": "ann"},
        {"text": "how much SRM is in Booster?", "conversation": "bob"},
        {"text": "and the 30ml?", "region": "AU", "conversation": "ann"},
        {"text": "and Recovery?", "conversation": "bob"},
        {"text": "and the 30ml?", "region": "AU"},
    ]
    result = run("ask", "--jsonl", stdin="\n".join(json.dumps(line) for line in lines) + "\n")
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("conversation") for r in replies] == ["ann", "bob", "ann", "bob", None]
    assert replies[2]["intent"] == "recovery-bottle-life" and "6 months" in replies[2]["text"]
    assert replies[3]["intent"] == "srm-percentages" and "Recovery 70%" in replies[3]["text"]
    assert replies[4]["kind"] != "answer"  # a line without a conversation stands alone


def test_eval_scores_conversations_interleaved(tmp_path):
    conversations = tmp_path / "conversations.yaml"
    conversations.write_text(
        "- conversation: a\n  channel: telegram\n  region: AU\n  turns:\n"
        '    - {text: "how long does the 5ml recovery bottle last?", expect: answer, facts: ["18 days"]}\n'
        '    - {text: "and the 30ml?", expect: answer, facts: ["6 months"]}\n'
        "- conversation: b\n  channel: slack\n  region: US\n  turns:\n"
        '    - {text: "is skin serum ok while pregnant?", expect: answer, facts: ["safe for pregnant women"]}\n'
        '    - {text: "and the 30ml?", expect: answer, facts: ["6 months"]}\n',
        encoding="utf-8",
    )
    result = run("eval", str(conversations), str(DATA / "conversations.yaml"))
    assert result.returncode == 0, result.stderr
    assert "first turns right     2/2 (100%)" in result.stdout
    assert "follow-up turns right 1/2 (50%)" in result.stdout  # b's "and the 30ml?" has nothing to lean on
    assert "conversations right   1/2 (50%)" in result.stdout
    assert "safety turns wrong    0/1" in result.stdout
    assert "conversations.yaml: 15 conversations" in result.stdout


def test_eval_scores_a_file_and_lists_wrong_replies(tmp_path):
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        '- {text: "what is recovery", expect: answer, facts: ["70%"]}\n'
        '- {text: "what is recovery", expect: answer, facts: ["a fact it lacks"]}\n'
        '- {text: "tell me a joke", expect: fallback}\n'
        '- {text: "hello", expect: social}\n',
        encoding="utf-8",
    )
    result = run("eval", str(cases))
    assert result.returncode == 0
    assert "right 75.0%  wrong 25.0%" in result.stdout
    assert "lacks ['a fact it lacks']" in result.stdout


def test_eval_sweeps_thresholds():
    result = run("eval", str(DATA / "dev.yaml"), "--sweep")
    assert "threshold sweep" in result.stdout
    assert result.stdout.count("answer 0.") >= 10


VALIDATE_SECONDS = 900  # validate trains ten held-out models: three to five minutes alone, more on a busy machine
WARNING_CEILING = 20  # issue 10's target; the shipped catalogue gives 15 (182, then 60, before its content was
# reworked), and any edit moves the count by a few as the folds reshuffle


def test_validate_passes_on_the_shipped_catalogue():
    result = run("validate", timeout=VALIDATE_SECONDS)
    assert result.returncode == 0
    assert "0 error(s)" in result.stdout
    warnings = int(re.search(r"(\d+) warning\(s\)", result.stdout).group(1))
    assert warnings <= WARNING_CEILING, result.stdout
    assert ("Warnings are hints, not failures" in result.stdout and "leave-one-out" in result.stdout) == (warnings > 0)
    pairs = re.findall(r"^'([\w-]+)' -> '([\w-]+)': (\d+) held-out example\(s\)", result.stdout, re.MULTILINE)
    assert sum(int(n) for _, _, n in pairs) == warnings  # every warning sits under the pair of intents it confuses


def test_validate_names_the_broken_file(intents_copy):
    (intents_copy / "extra.yaml").write_text("intents:\n  - id: oops\n", encoding="utf-8")
    result = run("validate", env={"BOT_INTENTS_DIR": str(intents_copy)}, timeout=VALIDATE_SECONDS)
    assert result.returncode == 1
    assert "error: extra.yaml: intent 'oops'" in result.stdout


def test_validate_flags_an_example_written_for_two_intents(intents_copy):
    (intents_copy / "extra.yaml").write_text(
        "intents:\n  - id: twin\n    category: products\n    question: Twin?\n"
        "    examples: ['Recovery vs Booster?', twin one, twin two]\n    answer: Twin.\n",
        encoding="utf-8",
    )
    result = run("validate", env={"BOT_INTENTS_DIR": str(intents_copy)}, timeout=VALIDATE_SECONDS)
    assert result.returncode == 1
    duplicate = [line for line in result.stdout.splitlines() if "reads the same as" in line]
    assert duplicate
    assert all("'twin'" in line and "'recovery-vs-booster'" in line for line in duplicate)
    assert "held out, would get" not in result.stdout  # the held-out check waits until the errors are fixed


def test_a_broken_catalogue_stops_start_up(intents_copy):
    (intents_copy / "extra.yaml").write_text("intents: [", encoding="utf-8")
    result = run("ask", "hi", env={"BOT_INTENTS_DIR": str(intents_copy)})
    assert result.returncode == 1
    assert "extra.yaml: not valid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_in_the_terminal(tmp_path):
    conversation = "recovery vs booster or skin serum?\n1\n/region AU\nsafe when pregnant?\nhi\n/quit\n"
    result = run("chat", "--region", "US", stdin=conversation, env={"BOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0
    out = result.stdout
    assert "Region: US" in out
    assert "Did you mean" in out or "70%" in out
    assert "Region set to AU" in out
    assert "Salicylic Acid Gel" in out


def test_the_readme_documents_every_setting():
    from bot.settings import SETTINGS

    readme = (ROOT / "README.md").read_text()
    assert [s.name for s in SETTINGS if f"| `{s.name}` |" not in readme] == []


def test_config_prints_the_effective_settings_with_secrets_masked():
    result = run("config", env={"SLACK_BOT_TOKEN": "xoxb-1234-5678-supersecretvalue", "DATABASE_URL": "postgresql://bot:hunter22@db.example.com/bot"})
    assert result.returncode == 0
    assert "supersecretvalue" not in result.stdout and "hunter22" not in result.stdout
    assert "SLACK_BOT_TOKEN            ****" in result.stdout
    assert "postgresql://bot:****@db.example.com/bot" in result.stdout
    assert "BOT_DEFAULT_REGION         US" in result.stdout


def test_every_bad_setting_is_named_in_one_message():
    result = run("config", env={"BOT_DEFAULT_REGION": "NZ", "PORT": "http", "SMTP_URL": "mail.example.com"})
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    for name in ("BOT_DEFAULT_REGION", "PORT", "SMTP_URL"):
        assert name in result.stderr


def test_serve_with_neither_platform_is_a_clear_start_up_error():
    result = run("serve")
    assert result.returncode == 1
    assert result.stderr.startswith("neogenesis-bot: neither Slack nor Telegram is configured")


def test_chat_keeps_the_conversation_and_asks_the_region_when_it_matters(tmp_path):
    conversation = "how long does the 5ml recovery bottle last?\nand the 30ml?\nis skin restore ok while pregnant?\n1\nwhat about breastfeeding?\n/quit\n"
    result = run("chat", stdin=conversation, env={"BOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Region: not chosen yet" in out
    assert out.count("6 months") == 2  # the first answer, and the follow-up's
    assert "Australia or the United States?" in out
    assert "Salicylic Acid Gel and Skin Restore Serum" in out  # "1" chose Australia; the question waited
    from support.state import ConversationState
    from support.store import open_engine

    recorded = ConversationState(open_engine(None, str(tmp_path))).recent_turns
    engine_turns = [turn["text"] for turn in recorded(_only_conversation(tmp_path), limit=10)]
    assert engine_turns[:2] == ["how long does the 5ml recovery bottle last?", "and the 30ml?"]  # kept for `report`


def _only_conversation(data_dir) -> str:
    from sqlalchemy import select

    from support.store import open_engine, turns

    with open_engine(None, str(data_dir)).begin() as connection:
        (conversation,) = set(connection.execute(select(turns.c.conversation)).scalars())
    return conversation
