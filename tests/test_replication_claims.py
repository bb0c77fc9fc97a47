"""Every replication number README ("How close the replication is") and RESULTS section 14 quote is
recomputed from the committed CSVs (bench/seed_spread_claims.py, pandas only) and must be the one the
document prints, so that no sentence drifts from the data again."""
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_claims():
    spec = importlib.util.spec_from_file_location("seed_spread_claims", REPO / "bench" / "seed_spread_claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CLAIMS = load_claims()
QUOTES = CLAIMS.quotes(CLAIMS.load())


def flat(text):
    """Whitespace (line breaks of wrapped prose) collapsed, so a sentence matches however it is wrapped."""
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("doc, quote", QUOTES, ids=[f"{d}:{q[:40]}" for d, q in QUOTES])
def test_the_document_quotes_the_number_the_csvs_give(doc, quote):
    text = flat((REPO / doc).read_text(encoding="utf-8"))
    assert flat(quote) in text, f"{doc} does not say (recomputed from doc/seed_spread*.csv): {quote[:300]}"


def test_claims_are_recomputed_not_copied():
    """The recomputation sees the data: a changed row changes the claim."""
    rows = CLAIMS.load()
    before = CLAIMS.claims(rows)["gg_range"]
    changed = rows.copy()
    target = ((changed.method == "guided_gradcam") & (changed.gradcam_resize == "tf1_bilinear")
              & (changed.state == changed.states) & (changed.test == "cascading") & (changed.seed == 2)
              & (changed.first_image == 0) & (changed.epochs == 50))
    assert target.sum() == 1
    changed.loc[target, "mean"] = 0.111
    assert CLAIMS.claims(changed)["gg_range"] == "0.111-0.450" != before


def test_first_column_claims_are_recomputed_not_copied():
    """The CNN first column's budget claims (bench/cnn_first_column_claims.py) see every seed's row."""
    spec = importlib.util.spec_from_file_location("cnn_first_column_claims",
                                                  REPO / "bench" / "cnn_first_column_claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.load()
    assert module.claims(rows)["fc_mnist_e50_seeds"] == "3"
    changed = rows.copy()
    target = (changed.model == "cnn_mnist_seed2") & (changed.variant == "original") & (changed.method == "gradient")
    assert target.sum() == 1
    changed.loc[target, "mean"] = 0.5
    assert module.claims(changed)["fc_mnist_e50_gradient"] == "0.291 (0.180-0.500)"
