"""A broken catalogue stops start-up with errors that name the file and the intent."""

import pytest

from bot.loading import CatalogueError, load_catalogue


def problems_after(folder, file, old, new):
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"test setup: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(folder)
    return caught.value.problems


def test_the_shipped_catalogue_loads(catalogue):
    assert len(catalogue.intents) > 100
    assert {"AU", "US"} == set(catalogue.regions)
    assert all(intent.examples for intent in catalogue.intents)


def test_a_missing_region_variant_is_named(intents_copy):
    problems = problems_after(intents_copy, "safety.yaml", "      US: |\n        All NeoGenesis products are safe", "      XX: |\n        All NeoGenesis products are safe")
    assert any("safety.yaml: intent 'pregnancy'" in p and "unknown region 'XX'" in p for p in problems)
    assert any("safety.yaml: intent 'pregnancy'" in p and "no variant for region US" in p for p in problems)


GOOD_INTENT = """intents:
  - id: store-hours
    category: orders
    question: When are you open?
    examples: [when are you open, opening hours, are you open on sunday]
    answer: Always.
    related: [returns]
"""


def problems_with_extra_file(folder, text):
    (folder / "extra.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(folder)
    return caught.value.problems


def test_a_good_extra_file_loads(intents_copy):
    (intents_copy / "extra.yaml").write_text(GOOD_INTENT, encoding="utf-8")
    assert load_catalogue(intents_copy).by_id["store-hours"].file == "extra.yaml"


def test_a_misspelt_field_is_named(intents_copy):
    problems = problems_with_extra_file(intents_copy, GOOD_INTENT.replace("examples:", "exmaples:"))
    assert "extra.yaml: intent 'store-hours': unknown field `exmaples`" in problems[0]


def test_a_key_given_twice_is_refused(intents_copy):
    problems = problems_with_extra_file(intents_copy, GOOD_INTENT.replace("    answer: Always.", "    answer: Always.\n    answer: Never."))
    assert len(problems) == 1
    assert problems[0].startswith("extra.yaml: not valid YAML") and "'answer' appears twice" in problems[0]


def test_a_related_intent_that_does_not_exist(intents_copy):
    problems = problems_with_extra_file(intents_copy, GOOD_INTENT.replace("[returns]", "[returnz]"))
    assert problems == ["extra.yaml: intent 'store-hours': related intent 'returnz' does not exist"]


def test_a_dead_link_in_an_answer(intents_copy):
    problems = problems_after(intents_copy, "company.yaml", "You can sign up as a Reseller", "Click here >> You can sign up as a Reseller")
    assert any("intent 'become-reseller'" in p and "dead link" in p for p in problems)


def test_an_unknown_placeholder(intents_copy):
    problems = problems_after(intents_copy, "social.yaml", "{topics}", "{topicz}")
    assert any("social.yaml: intent 'help'" in p and "topicz" in p for p in problems)


def test_an_unknown_category_and_handoff_reason(intents_copy):
    problems = problems_after(intents_copy, "handoff.yaml", "reason: complaint", "reason: grumble")
    assert any("handoff.yaml: intent 'complaint'" in p and "reason" in p for p in problems)
    problems = problems_after(intents_copy, "hair.yaml", "category: hair", "category: hairdressing")
    assert any("hair.yaml" in p and "`category` 'hairdressing'" in p for p in problems)


def test_the_same_id_in_two_files(intents_copy):
    problems = problems_with_extra_file(intents_copy, GOOD_INTENT.replace("id: store-hours", "id: discounts"))
    assert problems == ["extra.yaml: intent 'discounts': id already used in company.yaml"]


def test_broken_yaml_names_the_file_and_line(intents_copy):
    problems = problems_with_extra_file(intents_copy, GOOD_INTENT.replace("id: store-hours", "id: [store-hours"))
    assert len(problems) == 1
    assert problems[0].startswith("extra.yaml: not valid YAML") and "line" in problems[0]


def test_a_missing_frame_file(intents_copy):
    (intents_copy / "catalogue.yaml").unlink()
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(intents_copy)
    assert any(p.startswith("catalogue.yaml: missing") for p in caught.value.problems)


def test_every_problem_is_reported_at_once(intents_copy):
    (intents_copy / "extra.yaml").write_text(
        "intents:\n  - id: Bad Id\n    category: nowhere\n    question: ''\n    examples: [one]\n", encoding="utf-8"
    )
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(intents_copy)
    found = "\n".join(caught.value.problems)
    for expected in ("`id` must be lowercase", "`category` 'nowhere'", "`question` needs", "at least 3", "`answer` is missing"):
        assert expected in found


def test_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(CatalogueError, match="no such catalogue folder"):
        load_catalogue(tmp_path / "nope")


def test_bot_intents_dir_points_the_bot_at_another_copy(intents_copy, monkeypatch):
    from bot.loading import default_intents_dir

    monkeypatch.setenv("BOT_INTENTS_DIR", str(intents_copy))
    assert default_intents_dir() == intents_copy
    assert load_catalogue().directory == str(intents_copy)


def test_a_folder_of_intents_alone_loads_with_a_neutral_frame(tmp_path):
    (tmp_path / "intents.yaml").write_text(
        "intents:\n"
        "  - id: book-flight\n    category: travel\n    question: Book a flight\n"
        "    examples: [get me a plane ticket, book me on a flight to rome, i need to fly to paris]\n"
        "    answer: (a flight)\n",
        encoding="utf-8",
    )
    catalogue = load_catalogue(tmp_path)
    assert [c.id for c in catalogue.categories] == ["travel"]
    assert list(catalogue.regions) == ["US"]
    assert "NeoGenesis" not in " ".join(catalogue.messages.values())


def test_triggers_on_an_answer_are_refused(intents_copy):
    problems = problems_with_extra_file(intents_copy, GOOD_INTENT.replace("    answer: Always.", "    triggers: [opening hours]\n    answer: Always."))
    assert any("extra.yaml: intent 'store-hours'" in p and "`triggers` belong to hand-off and out-of-scope intents" in p for p in problems)
