"""Word explanations (core.explain.words): leaving each word out, on a TF-IDF logistic model and any pipeline.

A spam word pushes towards spam, a ham word away; a row's pushes agree with its whole text's push;
the bounds on words per row, rows and inputs per call hold; texts are shown marked but never as markup.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.explain import words as cw
from core.target import Task
from tests.conftest import make_training_request

SPAM_WORDS, HAM_WORDS = ["prize", "winner", "cash", "claim"], ["meeting", "lunch", "report", "agenda"]
COMMON = ["the", "you", "please", "today", "call", "about", "this", "week", "team", "now"]


def messages(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        spam = i % 3 == 0
        words = [*rng.choice(SPAM_WORDS if spam else HAM_WORDS, 2, replace=False), *rng.choice(COMMON, 5)]
        rng.shuffle(words)
        rows.append((" ".join(words), float(rng.normal()), "spam" if spam else "ham"))
    return pd.DataFrame(rows, columns=["message", "noise", "label"])


@pytest.fixture(scope="module")
def spam_model():
    from core.training import train_one

    request = make_training_request(messages(), "label", models=["logistic_regression"], seed=2, positive="spam")
    return request, train_one(request, request.models[-1])


class Counting:
    """A pipeline stand-in that counts predict calls and the inputs they get, and answers like the real one."""

    def __init__(self, pipeline):
        self.pipeline, self.calls = pipeline, []
        self.classes_ = pipeline.classes_

    def predict_proba(self, frame):
        self.calls.append(len(frame))
        return self.pipeline.predict_proba(frame)


class Model:
    def __init__(self, pipeline, task):
        self.pipeline, self.task = pipeline, task


# -- texts -------------------------------------------------------------------------------------------------


def test_each_word_is_left_out_everywhere_it_occurs_case_alike():
    words, texts, occurrences, truncated = cw.without_each_word("Free cash! FREE, don't wait")
    assert words == ["free", "cash", "don't", "wait"] and occurrences == [2, 1, 1, 1] and not truncated
    assert texts[0] == " cash! , don't wait"
    assert texts[2] == "Free cash! FREE,  wait"
    many = " ".join(f"w{i}" for i in range(100))
    words, texts, _, truncated = cw.without_each_word(many, max_words=7)
    assert len(words) == len(texts) == 7 and truncated


# -- on a TF-IDF logistic model ------------------------------------------------------------------------------


def test_a_word_only_spam_rows_hold_pushes_towards_spam_and_a_ham_word_away(spam_model):
    _, model = spam_model
    row = pd.DataFrame({"message": ["please claim your prize about the meeting"], "noise": [0.0]})
    explained = cw.row_words(model, row, "message", positive="spam")
    effects = dict(zip(explained.words["word"], explained.words["effect"], strict=True))
    assert explained.output_name == "probability of 'spam'"
    assert effects["prize"] > 0 and effects["claim"] > 0, "spam words push towards spam"
    assert effects["meeting"] < 0, "a ham word pushes away from spam"
    assert max(effects, key=effects.get) in {"prize", "claim"}
    probability = model.pipeline.predict_proba(row)[0, list(model.pipeline.classes_).index("spam")]
    assert explained.output == pytest.approx(probability)


def test_the_same_words_push_the_other_way_when_the_other_class_is_explained(spam_model):
    _, model = spam_model
    row = pd.DataFrame({"message": ["claim your prize"], "noise": [0.0]})
    for_spam = cw.row_words(model, row, "message", positive="spam").words.set_index("word")["effect"]
    for_ham = cw.row_words(model, row, "message", positive="ham").words.set_index("word")["effect"]
    np.testing.assert_allclose(for_spam, -for_ham, atol=1e-12)


def test_a_rows_pushes_add_up_sensibly_to_its_whole_texts_push(spam_model):
    _, model = spam_model
    one = cw.row_words(model, pd.DataFrame({"message": ["prize"], "noise": [0.0]}), "message", positive="spam")
    assert one.words["effect"].iloc[0] == pytest.approx(one.output - one.without_text), "one word: all of it"
    X = messages(60, seed=9)[["message", "noise"]]
    agree = 0
    for i in range(len(X)):
        row = cw.row_words(model, X.iloc[[i]], "message", positive="spam")
        whole, total = row.output - row.without_text, float(row.words["effect"].sum())
        agree += np.sign(whole) == np.sign(total)
        assert abs(total) <= 3 * abs(whole) + 0.05, "the words' pushes stay of the order of the text's"
    assert agree >= 0.9 * len(X)


def test_the_overall_words_are_the_classes_words_with_how_often_they_occur(spam_model):
    request, model = spam_model
    X_valid, _ = request.xy(request.split.valid)
    overall = cw.overall_words(model, X_valid, "message", rows=30, seed=1, positive="spam")
    top = overall.words.head(8)
    ups = set(top.loc[top["mean_effect"] > 0, "word"])
    downs = set(top.loc[top["mean_effect"] < 0, "word"])
    assert ups <= set(SPAM_WORDS) and downs <= set(HAM_WORDS) and ups and downs
    assert overall.rows == overall.rows_requested == 30 < len(X_valid) and not overall.partial
    counts = {r.row: set(r.words["word"]) for r in overall.per_row}
    for _, word in top.iterrows():
        assert word["rows"] == sum(word["word"] in held for held in counts.values())
        assert word["share"] == pytest.approx(word["rows"] / 30)
    again = cw.overall_words(model, X_valid, "message", rows=30, seed=1, positive="spam")
    pd.testing.assert_frame_equal(overall.words, again.words)  # repeatable: nothing is sampled but the rows


# -- bounds ------------------------------------------------------------------------------------------------------


def test_a_rows_variants_go_through_the_model_in_one_call(spam_model):
    _, model = spam_model
    counting = Counting(model.pipeline)
    text = " ".join(f"word{i}" for i in range(cw.MAX_WORDS + 25))
    row = cw.row_words(Model(counting, Task.BINARY), pd.DataFrame({"message": [text], "noise": [0.0]}), "message")
    assert counting.calls == [cw.MAX_WORDS + 2], "the row, the row without text, each word left out: one call"
    assert len(row.words) == cw.MAX_WORDS and row.truncated


def test_overall_reads_at_most_the_row_limit_in_calls_of_bounded_size(spam_model, monkeypatch):
    request, model = spam_model
    X_valid, _ = request.xy(request.split.valid)
    big = pd.concat([X_valid] * 8, ignore_index=True)
    assert len(big) > cw.MAX_ROWS
    monkeypatch.setattr(cw, "BATCH_ROWS", 100)
    counting = Counting(model.pipeline)
    events = []
    overall = cw.overall_words(Model(counting, Task.BINARY), big, "message", rows=10_000, listener=events.append)
    assert overall.rows == cw.MAX_ROWS
    assert max(counting.calls) <= 100 and sum(counting.calls) == sum(len(r.words) + 2 for r in overall.per_row)
    assert [e.rows for e in events][-1] == cw.MAX_ROWS and events[0].rows == 0


def test_stop_keeps_the_rows_done(spam_model, monkeypatch):
    request, model = spam_model
    X_valid, _ = request.xy(request.split.valid)
    monkeypatch.setattr(cw, "BATCH_ROWS", 50)
    overall = cw.overall_words(model, X_valid, "message", rows=30, should_stop=lambda: True)
    assert overall.partial and 0 < overall.rows < 30 and overall.rows_requested == 30


def test_the_estimate_scales_the_timed_inputs_to_all_the_rows(spam_model):
    request, model = spam_model
    X_valid, _ = request.xy(request.split.valid)
    ticks = iter([0.0, 1.0])  # the timed call takes one "second"
    seconds = cw.estimate_seconds(model, X_valid, "message", rows=30, clock=lambda: next(ticks))
    inputs = [len(set(t.split())) + 2 for t in X_valid["message"]]
    timed = sum(inputs[:20])  # the first 20 rows' variants, under 256 inputs: one call
    assert seconds == pytest.approx(np.mean(inputs[:20]) * 30 / timed)


# -- other tasks, and the text shown -----------------------------------------------------------------------------------


def test_multiclass_explains_each_rows_predicted_class_or_the_one_asked_for():
    from core.training import train_one

    rng = np.random.default_rng(0)
    topic_words = {"work": "report agenda", "food": "pizza dinner", "money": "cash bank"}
    topics = rng.choice(list(topic_words), 150)
    frame = pd.DataFrame(
        {
            "text": [f"{topic_words[t]} {' '.join(rng.choice(COMMON, 4))}" for t in topics],
            "x": rng.normal(size=150),
            "topic": topics,
        }
    )
    request = make_training_request(frame, "topic", models=["logistic_regression"])
    model = train_one(request, request.models[-1])
    row = pd.DataFrame({"text": ["pizza dinner with the team"], "x": [0.0]})
    predicted = cw.row_words(model, row, "text")
    assert predicted.predicted_class == "food" and predicted.output_name == "probability of each row's predicted class"
    assert predicted.words.set_index("word")["effect"]["pizza"] > 0
    money = list(model.pipeline.classes_).index("money")
    asked = cw.row_words(model, row, "text", class_index=money)
    assert asked.output_name == "probability of 'money'" and asked.predicted_class is None
    assert asked.words.set_index("word")["effect"]["pizza"] < 0


def test_regression_explains_the_prediction_in_the_targets_units():
    from core.training import train_one

    rng = np.random.default_rng(1)
    good = rng.integers(0, 3, 150)
    frame = pd.DataFrame(
        {
            "review": [" ".join(["great"] * g + list(rng.choice(COMMON, 5))) for g in good],
            "x": rng.normal(size=150),
            "stars": 2.0 + good + rng.normal(scale=0.1, size=150),
        }
    )
    request = make_training_request(frame, "stars", models=["ridge"])
    model = train_one(request, request.models[-1])
    row = cw.row_words(model, pd.DataFrame({"review": ["great great food today"], "x": [0.0]}), "review")
    assert row.output_name == "prediction"
    assert row.output == pytest.approx(
        float(model.pipeline.predict(pd.DataFrame({"review": [row.text], "x": [0.0]}))[0])
    )
    assert row.words.set_index("word")["effect"]["great"] > 0.5, "in stars, not a probability"


def test_the_marked_text_marks_the_pushing_words_and_shows_the_rest_literally():
    hostile = "Claim **your** prize at [here](http://x.io) <script>alert(1)</script> meeting_room"
    words = cw.without_each_word(hostile)[0]
    effects = {word: 0.0 for word in words} | {"prize": 0.4, "claim": 0.1, "meeting_room": -0.3}
    row = cw.RowWords(
        column="message",
        row=0,
        text=hostile,
        output_name="probability of 'spam'",
        output=0.9,
        without_text=0.2,
        words=pd.DataFrame({"word": words, "effect": [effects[w] for w in words], "occurrences": 1}),
    )
    marked = cw.marked_text(row)
    assert ":orange-background[**prize**]" in marked and ":orange-background[Claim]" in marked
    assert r":violet-background[**meeting\_room**]" in marked
    assert "**your**" not in marked and r"\*\*your\*\*" in marked
    assert "<script>" not in marked and r"\<script\>" in marked and "](http" not in marked
    assert ":orange-background[here]" not in marked, "a word without effect is not marked"


def test_words_run_on_the_cluster_as_a_job_with_progress(spam_model):
    request, model = spam_model
    X_valid, _ = request.xy(request.split.valid)
    job = cw.WordsJob(model, X_valid, "message", rows=30, positive="spam").start()
    assert job.wait(120)
    snap = job.snapshot()
    assert snap.status == "finished", snap.error
    [result] = snap.results
    local = cw.overall_words(model, X_valid, "message", rows=30, positive="spam")
    pd.testing.assert_frame_equal(result.words, local.words)
    assert [e.rows for e in snap.events][-1] == 30
