"""Lecture mode: larger type, controls folded away, and predict-then-reveal.

The page asks its question before it draws anything. After Reveal the question, the audience's
guess, the right answer and one sentence of why stay on screen, and the page is a normal live page
(every control redraws at once) until the lecturer clicks "Ask again".
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

#: Everything readable from the back of a room. Streamlit draws metric values, slider values and
#: widget labels in elements of their own, so each gets a rule at least as specific as the one for
#: body text (a plain ``p`` rule would otherwise shrink a metric's value to body size).
LECTURE_CSS = """
<style>
  [data-testid="stMain"] p, [data-testid="stMain"] li { font-size: 1.3rem; line-height: 1.55; }
  [data-testid="stMain"] h1 { font-size: 3.2rem; }
  [data-testid="stMain"] h3 { font-size: 2rem; }
  [data-testid="stMain"] [data-testid="stMetricValue"],
  [data-testid="stMain"] [data-testid="stMetricValue"] * { font-size: 3.4rem; line-height: 1.2; }
  [data-testid="stMain"] [data-testid="stMetricLabel"] p { font-size: 1.15rem; }
  [data-testid="stMain"] [data-testid="stWidgetLabel"] p { font-size: 1.2rem; }
  [data-testid="stMain"] [data-testid="stSliderThumbValue"],
  [data-testid="stMain"] [data-testid="stSliderTickBarMin"],
  [data-testid="stMain"] [data-testid="stSliderTickBarMax"] { font-size: 1.1rem; }
  [data-testid="stMain"] input, [data-testid="stMain"] [data-baseweb="select"] div { font-size: 1.2rem; }
  [data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: 1.15rem; }
</style>
"""


@dataclass(frozen=True)
class Quiz:
    """A page's question, its choices, the right one and one sentence of why.

    ``answer`` is the index of the right choice in ``answers`` (an index, so a page does not
    repeat a long choice); one outside them fails the page at once. Without it the page reveals
    the chart and ``because`` only.
    """

    question: str
    answers: tuple[str, ...] = ()
    answer: int | None = None
    because: str | None = None

    def __post_init__(self) -> None:
        if self.answer is not None and not 0 <= self.answer < len(self.answers):
            raise ValueError(f"answer {self.answer} is not an index of the {len(self.answers)} answers")

    @property
    def right(self) -> str | None:
        """The right choice's text, when the page names one."""
        return None if self.answer is None else self.answers[self.answer]


def enabled() -> bool:
    return bool(st.session_state.get("lecture", False))


def apply_style() -> None:
    st.html(LECTURE_CSS)


def revealed_key(name: str) -> str:
    return f"_revealed_{name}"


def revealed(name: str, quiz: Quiz) -> bool:
    """Ask the page's question first; once the audience has clicked Reveal, show the outcome and
    return True on every rerun (controls change the chart live) until "Ask again"."""
    key, guess_key = revealed_key(name), f"_guess_{name}"
    if st.session_state.get(key):
        _outcome(name, quiz, st.session_state.get(f"_guessed_{name}"))
        return True
    with st.container(border=True):
        st.markdown(f"### Predict first\n{quiz.question}")
        if quiz.answers:
            st.radio("Your prediction", list(quiz.answers), index=None, key=guess_key)
        if st.button("Reveal", key=f"_reveal_btn_{name}", type="primary"):
            st.session_state[key] = True
            st.session_state[f"_guessed_{name}"] = st.session_state.get(guess_key)  # the radio is gone after this run
            st.rerun()
    return False


def _outcome(name: str, quiz: Quiz, guess: str | None) -> None:
    """The question, the guess, the right answer and why, kept above the live chart."""
    with st.container(border=True):
        st.markdown(f"### The question\n{quiz.question}")
        if guess:
            verdict = "" if quiz.right is None else (" — right." if guess == quiz.right else " — not quite.")
            st.markdown(f"Your prediction: **{guess}**{verdict}")
        if quiz.right is not None:
            st.success(f"**Answer: {quiz.right}.** {quiz.because or ''}".strip())
        elif quiz.because:
            st.success(quiz.because)
        if st.button("Ask again", key=f"_ask_again_{name}",
                     help="Hide the chart and ask this page's question again."):
            for key in (revealed_key(name), f"_guess_{name}", f"_guessed_{name}"):
                st.session_state.pop(key, None)
            st.rerun()
