"""The StepDiff metrics against values worked out by hand from their formulas."""

from __future__ import annotations

import contextlib
import io
import math

import pytest

pytest.importorskip("pycocoevalcap")
pytest.importorskip("scipy")

from stepdiff.models import metrics  # noqa: E402


def test_tokenize_lowercases_and_strips_punctuation():
    assert metrics.tokenize("Added 1 TSP. of salt, instead of 1 tbsp!") == (
        "added 1 tsp of salt instead of 1 tbsp"
    )
    assert metrics.tokenize("  stir-fried  ") == "stir fried"


def test_bleu1_is_clipped_unigram_precision_times_corpus_brevity_penalty():
    # item 1: 3 hypothesis words all found; closest reference length to 3 is 2 ("a cat").
    # item 2: 1 word found; the only reference has 3 words.
    # Normalised, "Dog." is "dog" and matches; raw (the headline), it matches nothing.
    hyps = ["the cat sat", "Dog."]
    refs = [["the cat sat on the mat", "a cat"], ["the dog barks"]]
    got = metrics.diffcap_scores(hyps, refs)
    matches, hyp_len, ref_len = 3 + 1, 3 + 1, 2 + 3
    want = matches / hyp_len * math.exp(1 - ref_len / hyp_len)  # hyp shorter: penalty applies
    assert got["BLEU-1 (normalised)"] == pytest.approx(want, abs=1e-6)
    assert got["BLEU-1 (normalised)"] == pytest.approx(0.7788, abs=1e-4)
    raw_matches = 3 + 0
    assert got["BLEU-1"] == pytest.approx(raw_matches / hyp_len * math.exp(1 - 5 / 4), abs=1e-6)


def test_bleu1_clips_repeated_words():
    # "the the the" against "the cat": "the" counts once; lengths 3 vs 2, no penalty.
    got = metrics.diffcap_scores(["the the the"], [["the cat"]])["BLEU-1"]
    assert got == pytest.approx(1 / 3, abs=1e-6)


def test_rouge_l_uses_lcs_f_measure_with_beta_1_2():
    # LCS("a b c d", "a c d e f") = "a c d" = 3: P = 3/4, R = 3/5.
    got = metrics.diffcap_scores(["a b c d"], [["a c d e f"]])["ROUGE-L"]
    p, r, b2 = 3 / 4, 3 / 5, 1.2**2
    assert got == pytest.approx((1 + b2) * p * r / (r + b2 * p), abs=1e-9)


def test_rouge_l_takes_best_precision_and_recall_separately_over_references():
    # item 2: ref "x" gives P 1/3, R 1; ref "x y z w" gives P 1, R 3/4. pycocoevalcap takes
    # max P and max R separately (1 and 1), so the item scores 1, more than either ref alone.
    got = metrics.diffcap_scores(["a b c d", "x y z"], [["a c d e f"], ["x", "x y z w"]])
    p, r, b2 = 3 / 4, 3 / 5, 1.2**2
    first = (1 + b2) * p * r / (r + b2 * p)
    assert got["ROUGE-L"] == pytest.approx((first + 1.0) / 2, abs=1e-9)


def test_cider_d_by_hand():
    # Two items, so idf(g) = log(2 / df(g)) = log 2 for every n-gram seen in one item's refs.
    # item A: hypothesis == reference: unigram and bigram cosines are 1, no 3/4-grams -> 0;
    #   CIDEr = 10 * (1 + 1 + 0 + 0) / 4 = 5.
    # item B: "c d" vs "c e": unigram vectors (l, l, 0) and (l, 0, l): cosine 1/2, bigram 0;
    #   CIDEr = 10 * (0.5 + 0 + 0 + 0) / 4 = 1.25. Same lengths, so no length penalty.
    got = metrics.diffcap_scores(["a b", "c d"], [["a b"], ["c e"]])["CIDEr"]
    assert got == pytest.approx((5 + 1.25) / 2, abs=1e-9)


def test_cider_is_zero_for_a_single_item_and_drops_with_length_mismatch():
    assert metrics.diffcap_scores(["a b"], [["a b"]])["CIDEr"] == 0.0  # idf = log(1/1) = 0
    same = metrics.diffcap_scores(["a b", "c d"], [["a b"], ["c e"]])["CIDEr"]
    # item A gets a longer hypothesis: its bigram count differs by 2 -> exp(-4 / 72) penalty.
    longer = metrics.diffcap_scores(["a b a b", "c d"], [["a b"], ["c e"]])["CIDEr"]
    assert longer < same


# Captions with capitals and punctuation, two categories of two items each (so that CIDEr's IDF
# is not zero within a category either).
_CASED_GT = [
    {
        "category": "Measurement",
        "text": ["added 1 tbsp of salsa instead of 1 tsp", "Used more salsa."],
    },
    {"category": "Measurement", "text": ["Poured 2 cups of Milk instead of 1 cup."]},
    {"category": "Technique", "text": ["chopped the onion instead of slicing it"]},
    {
        "category": "Technique",
        "text": ["Whisked the eggs, instead of stirring them.", "whisked eggs"],
    },
]
_CASED_PREDS = [
    {"generated_text": "Added 1 tsp. of Salsa instead of 1 tbsp."},
    {"generated_text": "poured 2 cups of milk instead of 1 cup"},
    {"generated_text": "Chopped the Onion, instead of slicing it."},
    {"generated_text": "whisked the eggs instead of stirring them"},
]


def _release_diffcap(gt: list[dict], preds: list[dict]) -> dict:
    """The StepDiff release's evaluation (evaluation/run.py) written out: pycocoevalcap's
    default scorers on the raw strings, BLEU-1 = element 0 of Bleu()'s scores."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    hypothesis = {str(idx): [pred["generated_text"]] for idx, pred in enumerate(preds)}
    reference = {str(idx): entry["text"] for idx, entry in enumerate(gt)}
    with contextlib.redirect_stdout(io.StringIO()):
        return {
            "BLEU-1": Bleu().compute_score(reference, hypothesis)[0][0],
            "CIDEr": Cider().compute_score(reference, hypothesis)[0],
            "ROUGE-L": Rouge().compute_score(reference, hypothesis)[0],
        }


def test_headline_diffcap_is_the_release_definition_on_raw_strings():
    r = metrics.score_task("diffcap", _CASED_GT, _CASED_PREDS)
    subsets = {"overall": (_CASED_GT, _CASED_PREDS)}
    for cat in ("Measurement", "Technique"):
        idx = [i for i, g in enumerate(_CASED_GT) if g["category"] == cat]
        subsets[cat] = ([_CASED_GT[i] for i in idx], [_CASED_PREDS[i] for i in idx])
    for name, (gt, preds) in subsets.items():
        ours = r["overall"] if name == "overall" else r["per_category"][name]
        release = _release_diffcap(gt, preds)
        assert set(metrics.DIFFCAP_KEYS) == set(release)
        for key, want in release.items():
            assert ours[key] == pytest.approx(want, rel=0, abs=1e-12), (name, key)
            # The normalised variant is the same scorer on `tokenize`d strings...
            norm = metrics.diffcap_scores(
                [metrics.tokenize(p["generated_text"]) for p in preds],
                [[metrics.tokenize(t) for t in g["text"]] for g in gt],
            )
            assert ours[key + metrics.NORMALISED] == pytest.approx(norm[key], abs=1e-12)
        assert ours["CIDEr"] > 0
    # ...and differs from the headline here, so normalising the headline again fails this test.
    for key in metrics.DIFFCAP_KEYS:
        assert r["overall"][key + " (normalised)"] > r["overall"][key] + 0.01, key


def test_mcq_accuracy_uses_argmax_with_first_index_on_ties():
    gt = [
        {"options": [["r", "a"], ["r", "b"], ["r", "c"], ["r", "d"]], "answer": ["r", "c"]},
        {"options": [["r", "a"], ["r", "b"], ["r", "c"], ["r", "d"]], "answer": ["r", "a"]},
        {"options": [["r", "a"], ["r", "b"], ["r", "c"], ["r", "d"]], "answer": ["r", "b"]},
    ]
    assert [metrics.answer_index(g) for g in gt] == [2, 0, 1]
    scores = [[0.1, 0.2, 0.9, 0.0], [0.5, 0.5, 0.1, 0.1], [0.3, 0.3, 0.3, 0.3]]
    # item 1 right; item 2 tie -> index 0, right; item 3 all equal -> index 0, wrong.
    assert metrics.mcq_accuracy(scores, [2, 0, 1])["accuracy"] == pytest.approx(2 / 3)


def test_answer_not_among_options_is_an_error():
    with pytest.raises(ValueError, match="not one of the options"):
        metrics.answer_index({"options": [["a", "b"]], "answer": ["a", "c"]})


def test_kendall_tau_b_with_ties_by_hand():
    # pred 1<2<3<4, truth 5,5,3,0: of 6 pairs, 5 discordant, 1 tied in truth, 0 concordant.
    # tau_b = (C - D) / sqrt((n0 - ties_x) * (n0 - ties_y)) = -5 / sqrt(6 * 5).
    got = metrics.kendall_tau([1, 2, 3, 4], [5, 5, 3, 0])
    assert got == pytest.approx(-5 / math.sqrt(30), abs=1e-12)
    # ties on both sides: pred (1,1,2,3) truth (0,1,1,2): pairs (1,2) tied in pred,
    # (2,3) tied in truth, the other 4 concordant.
    got = metrics.kendall_tau([1, 1, 2, 3], [0, 1, 1, 2])
    assert got == pytest.approx(4 / math.sqrt(5 * 5), abs=1e-12)


def test_rank_tau_counts_constant_predictions_as_zero_and_reports_reference_mean():
    scores = [[1, 2, 3, 4], [4, 3, 2, 1], [7, 7, 7, 7]]
    truths = [[0, 1, 2, 5], [0, 1, 2, 5], [0, 1, 2, 5]]
    r = metrics.rank_tau(scores, truths)
    assert r["ktau"] == pytest.approx((1 - 1 + 0) / 3)
    assert math.isnan(r["ktau_reference"])  # the reference's np.mean propagates the NaN
    assert r["nan_items"] == 1 and r["n"] == 3
    clean = metrics.rank_tau(scores[:2], truths[:2])
    assert clean["ktau"] == clean["ktau_reference"] == pytest.approx(0.0)


def test_score_task_splits_by_category():
    gt = [
        {
            "reference": "r",
            "targets": list("abcd"),
            "category": "Measurement",
            "scores": [5, 4, 1, 0],
        },
        {
            "reference": "r",
            "targets": list("abcd"),
            "category": "Technique",
            "scores": [0, 1, 4, 5],
        },
        {
            "reference": "r",
            "targets": list("abcd"),
            "category": "Technique",
            "scores": [0, 1, 4, 5],
        },
    ]
    preds = [{"scores": [4, 3, 2, 1]}, {"scores": [4, 3, 2, 1]}, {"scores": [1, 2, 3, 4]}]
    r = metrics.score_task("diffrank", gt, preds)
    assert r["overall"]["ktau"] == pytest.approx((1 - 1 + 1) / 3)
    assert r["per_category"]["Measurement"]["ktau"] == pytest.approx(1.0)
    assert r["per_category"]["Technique"]["ktau"] == pytest.approx(0.0)
    assert r["per_category"]["Technique"]["n"] == 2


def test_diffcap_per_category_matches_scoring_the_subset_alone():
    gt = [
        {"category": "A", "text": ["used a knife instead of a peeler"]},
        {"category": "B", "text": ["added salt instead of sugar"]},
        {"category": "A", "text": ["stirred slowly instead of quickly"]},
    ]
    preds = [
        {"generated_text": "used a spoon instead of a peeler"},
        {"generated_text": "added pepper instead of sugar"},
        {"generated_text": "stirred quickly instead of slowly"},
    ]
    r = metrics.score_task("diffcap", gt, preds)
    alone = metrics.diffcap_scores(
        [preds[0]["generated_text"], preds[2]["generated_text"]], [gt[0]["text"], gt[2]["text"]]
    )
    assert r["per_category"]["A"] == alone
    assert r["overall"]["n"] == 3


def test_mismatched_lengths_are_errors():
    with pytest.raises(ValueError, match="2 predictions for 1"):
        metrics.score_task("diffmcq", [{"options": [], "answer": []}], [{}, {}])
