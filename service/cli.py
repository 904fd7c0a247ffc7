"""`neogenesis-bot`: the bot's command line.

    neogenesis-bot chat [--region AU|US]          the bot in this terminal
    neogenesis-bot ask "text" [--region] [--channel] [--json]
    neogenesis-bot ask --jsonl < messages.jsonl   one JSON reply per JSON line
    neogenesis-bot eval FILE... [--sweep] [--misses] [--cross-validate]
    neogenesis-bot calibrate                      choose thresholds by cross-validation
    neogenesis-bot validate                       check the catalogue
    neogenesis-bot warm                           train the intent model once, beside the catalogue

Expected problems (a broken catalogue, a bad setting) print one clear message and exit 1;
anything unexpected is logged and exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import logging
import sys
from pathlib import Path
from typing import Sequence

from bot.core import SupportBot
from bot.loading import CatalogueError
from support.logs import hide_secrets, setup_logging
from bot.records import Message
from bot.settings import Settings, SettingsError
from dotenv import load_dotenv

log = logging.getLogger("neogenesis-bot")


class UsageError(Exception):
    """A problem the person running the command can fix; printed without a traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    load_dotenv(".env", override=False)  # local runs; the platform's environment wins
    settings = None
    try:
        if args.run is run_config:  # the table is shown even when a setting is bad
            return run_config(args, settings)
        settings = Settings.from_env()
        setup_logging(settings.get("BOT_LOG_LEVEL") or "INFO")
        hide_secrets(*settings.secret_values())
        return args.run(args, settings)
    except (SettingsError, UsageError) as error:
        print(f"neogenesis-bot: {error}", file=sys.stderr)
        return 1
    except CatalogueError as error:
        print("neogenesis-bot: the intent catalogue has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing left to say to anyone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        from service.failures import explain

        if settings is not None and (line := explain(error, settings)):  # a deployment problem, not a bug
            print(f"neogenesis-bot: {line}", file=sys.stderr)
            return 1
        log.exception("unexpected error")
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neogenesis-bot", description="The NeoGenesis support bot.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    chat = commands.add_parser("chat", help="talk to the bot in this terminal")
    chat.add_argument("--region", type=str.upper, choices=("AU", "US"), help="default: BOT_DEFAULT_REGION")
    chat.set_defaults(run=run_chat)

    ask = commands.add_parser("ask", help="ask one question, or one per line with --jsonl")
    ask.add_argument("text", nargs="?", help="the question")
    ask.add_argument("--region", type=str.upper, choices=("AU", "US"))
    ask.add_argument("--channel", choices=("slack", "telegram", "cli"), default="cli")
    ask.add_argument("--json", action="store_true", help="print the reply as JSON")
    ask.add_argument("--jsonl", action="store_true", help="read JSON lines (text, region, channel) from stdin")
    ask.set_defaults(run=run_ask)

    evaluate = commands.add_parser("eval", help="score the bot on labelled eval files, or by cross-validation over the catalogue")
    evaluate.add_argument("files", nargs="*")
    evaluate.add_argument("--cross-validate", action="store_true", help="5-fold cross-validation over the catalogue's own phrasings")
    evaluate.add_argument("--sweep", action="store_true", help="try threshold combinations, best first")
    evaluate.add_argument("--misses", action="store_true", help="also list clarify and missed cases")
    evaluate.set_defaults(run=run_eval)

    validate = commands.add_parser("validate", help="check the intent catalogue")
    validate.set_defaults(run=run_validate)

    calibrate = commands.add_parser("calibrate", help="choose the confidence thresholds by cross-validation and write calibration.yaml")
    calibrate.set_defaults(run=run_calibrate)

    warm = commands.add_parser("warm", help="train the intent model into the catalogue's folder, so starts skip training (a deploy's build step)")
    warm.set_defaults(run=run_warm)

    serve = commands.add_parser("serve", help="the web process: Slack events, Telegram webhook, /healthz and /metrics on $PORT")
    serve.set_defaults(run=run_serve)

    worker = commands.add_parser("worker", help="the background process: hand-off deliveries, Telegram long polling, housekeeping")
    worker.set_defaults(run=run_worker)

    tickets = commands.add_parser("tickets", help="list tickets, show one with its deliveries, re-queue failed deliveries")
    tickets.add_argument("code", nargs="?", help="a ticket code like NG-1042: show it in full")
    tickets.add_argument("--status", choices=("awaiting_contact", "open", "claimed", "resolved", "cancelled"))
    tickets.add_argument("--retry", action="store_true", help="re-queue failed deliveries (of CODE, or all)")
    tickets.set_defaults(run=run_tickets)

    config = commands.add_parser("config", help="print the effective settings (secrets masked) and check them")
    config.set_defaults(run=run_config)

    report = commands.add_parser("report", help="what customers asked and how the bot did, in the terminal and as HTML")
    report.add_argument("--since", default="7d", help="how far back: a number and d (days), h (hours), m (minutes) or w (weeks), like 7d, 24h, 2w (default 7d)")
    report.add_argument("--html", metavar="FILE", help="also write the report as an HTML page with charts")
    report.set_defaults(run=run_report)

    suggest = commands.add_parser("suggest", help="write unanswered questions as a YAML patch of example phrasings / new intents")
    suggest.add_argument("--since", default="7d", help="how far back: d (days), h (hours), m (minutes) or w (weeks), like 7d (the default)")
    suggest.add_argument("--output", "-o", default="suggestions.yaml", help="where to write the patch (default suggestions.yaml; - for stdout)")
    suggest.set_defaults(run=run_suggest)

    telegram = commands.add_parser("telegram", help="run the Telegram bot (long polling, or a webhook with TELEGRAM_WEBHOOK_URL)")
    telegram.set_defaults(run=run_telegram)

    slack = commands.add_parser("slack", help="run the Slack app (HTTP events on $PORT, or Socket Mode with SLACK_APP_TOKEN)")
    slack.set_defaults(run=run_slack)
    return parser


def load_bot(settings: Settings) -> SupportBot:
    return SupportBot.load(settings.intents_dir, settings.default_region)


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    """Chat in the terminal."""
    from service.terminal import run_chat as chat
    from support.desk import SupportDesk

    region = args.region or (settings.default_region if settings.is_given("BOT_DEFAULT_REGION") else None)
    return chat(SupportDesk.from_settings(settings), region)


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or every JSON line of stdin."""
    bot = load_bot(settings)
    if args.jsonl:
        contexts: dict = {}  # conversation key -> its context, so its lines follow up on each other
        for number, line in enumerate(sys.stdin, start=1):
            if line.strip():
                print(json.dumps(_answer_line(bot, line, number, contexts), ensure_ascii=False), flush=True)
        return 0
    if args.text is None:
        raise UsageError('ask needs a question: neogenesis-bot ask "how long does recovery last"')
    reply = bot.reply(Message(args.text, user_id="cli", channel=args.channel, region=args.region))
    print(json.dumps(reply.as_dict(), ensure_ascii=False, indent=2) if args.json else reply.text)
    return 0


def _answer_line(bot: SupportBot, line: str, number: int, contexts: dict | None = None) -> dict:
    try:
        request = json.loads(line)
        if not isinstance(request, dict) or not isinstance(request.get("text"), str):
            raise ValueError("expected an object with a `text` string")
    except ValueError as error:
        log.warning("line %d of the input is not a JSON request: %s", number, error)
        return {"error": f"line {number}: {error}"}
    message = Message(request["text"], user_id="cli", channel=str(request.get("channel") or "cli"), region=request.get("region"))
    key = request.get("conversation")
    if key is None or contexts is None:
        return bot.reply(message).as_dict()
    turn = bot.converse(message, contexts.get(str(key)))
    contexts[str(key)] = turn.context
    return {**turn.reply.as_dict(), "conversation": key}


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Score eval files; with --sweep, compare threshold settings."""
    from bot import evaluation

    bot = load_bot(settings)
    if not args.files and not args.cross_validate:
        raise UsageError("eval needs eval files, or --cross-validate: neogenesis-bot eval tests/data/dev.yaml")
    if args.cross_validate:
        print(evaluation.cross_validate(bot).report())
        print()
    scored = 0
    for path in args.files:
        try:
            if evaluation.is_conversation_file(path):
                _eval_conversations(bot, path, args.misses)
                scored += 1
                continue
            cases = evaluation.load_cases(path)
        except (OSError, ValueError) as error:  # a shell glob also picks up files that are not eval sets
            print(f"skipping {path}: not an eval set ({error})", file=sys.stderr)
            continue
        scored += 1
        scores = evaluation.evaluate(bot, cases)
        print(evaluation.report(scores, path))
        if args.misses and (misses := evaluation.report_misses(scores)):
            print(misses)
        if args.sweep:
            print(f"threshold sweep on {path} (current: {bot.thresholds}):")
            for thresholds, swept in evaluation.sweep(bot, cases)[:10]:
                print(
                    f"  answer {thresholds.answer:.2f} margin {thresholds.margin:.2f} clarify {thresholds.clarify:.2f} "
                    f"safety {thresholds.safety:.2f}: right {swept.share('right'):.1%} wrong {swept.share('wrong'):.1%} "
                    f"clarify {swept.share('clarify'):.1%}"
                )
        print()
    if args.files and not scored:
        raise UsageError("none of the files is an eval set (a YAML list of cases with `text` and `expect`)")
    return 0


def _eval_conversations(bot: SupportBot, path: str, misses: bool) -> None:
    """Score a file of conversations (follow-ups in context), interleaved."""
    from bot import evaluation

    scores = evaluation.evaluate_conversations(bot, evaluation.load_conversations(path))
    print(evaluation.conversation_report(scores, path))
    if misses and (missed := evaluation.report_conversation_misses(scores)):
        print(missed)
    print()


def run_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Check the catalogue; exit 1 on errors (warnings alone pass)."""
    from bot.validation import report, validate

    findings = validate(settings.intents_dir)
    print(report(findings))
    return 1 if any(f.severity == "error" for f in findings) else 0


def run_calibrate(args: argparse.Namespace, settings: Settings) -> int:
    """Cross-validate the catalogue and write the temperature and thresholds it supports."""
    from bot.calibration import calibrate, repeated_cross_validation, write_calibration
    from bot.policy import SAFETY_CATEGORIES

    bot = load_bot(settings)
    catalogue = bot.catalogue
    calibration = calibrate(
        repeated_cross_validation(bot.matcher.training),
        is_safety=lambda label: label in catalogue.by_id and catalogue.by_id[label].category in SAFETY_CATEGORIES,
        is_social=lambda label: label in catalogue.by_id and catalogue.by_id[label].kind == "social",
        is_handoff=lambda label: label in catalogue.by_id and catalogue.by_id[label].kind == "handoff",
    )
    path = write_calibration(Path(catalogue.directory), calibration)
    print(f"temperature {calibration.temperature}; thresholds {calibration.thresholds}")
    print(f"cross-validation: {calibration.figures}")
    print(f"written to {path}")
    return 0


def run_warm(args: argparse.Namespace, settings: Settings) -> int:
    """Train the catalogue's intent model and keep it beside the catalogue (bin/post_compile runs this)."""
    import time

    from bot.loading import load_catalogue
    from bot.matcher import Matcher
    from bot.model_cache import file_model, model_name, shipped_folder

    catalogue = load_catalogue(settings.intents_dir)
    started = time.perf_counter()
    matcher = Matcher(catalogue)
    path = file_model(matcher.model, shipped_folder(catalogue), model_name(catalogue, matcher.encoder))
    if path is None:
        print(f"could not write the intent model into {shipped_folder(catalogue)}: starts will train it", file=sys.stderr)
        return 1
    print(f"intent model for {len(catalogue.intents)} intents ready in {path} ({time.perf_counter() - started:.1f} s)")
    return 0


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the background process until SIGTERM or Ctrl-C."""
    from service.preflight import check_worker
    from service.worker import main as work

    check_worker(settings)
    return work(settings)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the web process until SIGTERM or Ctrl-C."""
    from service.app import configured_platforms, main as serve
    from service.preflight import check_web, warnings_for

    for warning in warnings_for(settings):
        log.warning("%s", warning)
    configured_platforms(settings)  # neither platform set is said before any token is tried
    check_web(settings)
    return serve(settings)


def run_tickets(args: argparse.Namespace, settings: Settings) -> int:
    """List or show tickets; --retry re-queues failed deliveries."""
    from support.delivery import show_tickets

    try:
        print(show_tickets(settings, code=args.code, status=args.status, retry=args.retry))
    except LookupError:
        typed = args.code.encode("unicode_escape").decode("ascii")  # echoed to a terminal: no control characters
        raise UsageError(f"no ticket {typed}: `neogenesis-bot tickets` lists the tickets") from None
    return 0


def run_config(args: argparse.Namespace, settings: Settings | None) -> int:
    """Print every setting as the bot sees it (secrets masked); exit 1 naming each bad one."""
    from service.config_view import config_table
    from service.preflight import warnings_for

    lines, problems = config_table()
    print("\n".join(lines))
    if problems:
        raise SettingsError("; ".join(problems))
    for warning in warnings_for(Settings.from_env()):
        print(f"warning: {warning}")
    return 0


def _insights(args: argparse.Namespace, settings: Settings):
    from service.insights import gather, parse_since
    from support.desk import SupportDesk

    try:
        since = parse_since(args.since)
    except ValueError as error:
        raise UsageError(str(error)) from None
    desk = SupportDesk.from_settings(settings)
    return desk.bot, gather(desk.state.engine, desk.bot, since)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    """Print the conversation report; with --html, write it as a page too."""
    from service.insights import text_report
    from service.report_page import html_report

    bot, found = _insights(args, settings)
    print(text_report(found, bot))
    if args.html:
        Path(args.html).write_text(html_report(found, bot), encoding="utf-8")
        print(f"\nHTML report written to {args.html}")
    return 0


def run_suggest(args: argparse.Namespace, settings: Settings) -> int:
    """Write the unanswered questions as a YAML patch for the content team."""
    from service.suggest import suggestions

    bot, found = _insights(args, settings)
    patch = suggestions(found, bot)
    if args.output == "-":
        print(patch)
    else:
        Path(args.output).write_text(patch, encoding="utf-8")
        print(f"{len(found.groups)} group(s) of unanswered questions written to {args.output} for review")
    return 0


def run_telegram(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Telegram adapter until stopped."""
    telegram = _adapter("telegram", "adapters.telegram")
    return telegram.main(settings)


def run_slack(args: argparse.Namespace, settings: Settings) -> int:
    """Run the Slack adapter until stopped."""
    slack = _adapter("slack", "adapters.slack")
    return slack.main(settings)


def _adapter(extra: str, module: str):
    """Import a platform adapter, or say in one line which extra brings its SDK."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name and error.name.split(".")[0] in ("telegram", "slack_bolt", "slack_sdk", "uvicorn", "starlette", "aiohttp"):
            raise UsageError(f"the {extra} adapter needs its SDK: pip install 'neogenesis-bot[{extra}]' (missing {error.name})") from None
        raise


if __name__ == "__main__":
    sys.exit(main())
