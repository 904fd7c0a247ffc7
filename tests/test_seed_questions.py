"""Every question of the brand's pages, asked word for word in its region, gets its own answer."""

import re
import unicodedata

import pytest
import yaml

from conftest import DATA

SEED_FAQ = yaml.safe_load((DATA / "seed_faq.yaml").read_text(encoding="utf-8"))


def plain(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("seed", SEED_FAQ, ids=lambda seed: f"{seed.get('region', '-')}:{seed['question'][:50]}")
def test_seed_question_gets_its_own_answer(reply, seed):
    answer = reply(seed["question"], region=seed.get("region"))
    if seed.get("expect") == "fallback":
        assert answer.kind == "fallback"
        return
    assert answer.kind in ("answer", "escalate"), answer.text
    assert plain(seed["answer"]) in plain(answer.text)
