"""The first-minute tour: a "Start here" strip atop every page, one button per step of the chapter —
LeNet's table, a small VGG, 3×3 against 5×5, a unit's field on an image, a short run, compare —
each opening its page with the model in the link. One line high, so a projector's 1024×768 keeps its
room for the page; once dismissed, hidden for the session and in the link (`?tour=hidden`), so a reload
keeps it away."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from dashboard import controls, model_state

HIDDEN, STEP = "tour_hidden", "tour_step"
LINK = "tour"  # ?tour=hidden: dismissed
INTRO = "The chapter in six clicks, from LeNet's table to comparing your own runs; ✕ hides this."
# One line: buttons shrink with the window (no column is pushed out of sight behind a scroll arrow, the
# ✕ included); the current step's hint is the "Start here" caption's help.
STYLE = """<style>
.st-key-tour {padding: 0.35rem 0.6rem; gap: 0.2rem}
.st-key-tour [data-testid="stColumn"] {min-width: 0; flex-shrink: 1}
.st-key-tour [data-testid="stHorizontalBlock"] {flex-wrap: nowrap; gap: 0.4rem}
.st-key-tour button {min-height: 2rem; padding: 0.1rem 0.4rem}
.st-key-tour button p {font-size: 0.8rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis}
.st-key-tour [data-testid="stCaptionContainer"] p {margin: 0; line-height: 1.2}
</style>"""


@dataclass(frozen=True)
class Step:
    label: str
    page: str  # the page's file under dashboard/pages
    hint: str
    params: dict[str, str] = field(default_factory=dict)  # the page's link (a model's words)


STEPS = (
    Step("LeNet", "build", "Every layer of LeNet-5 with its output shape, parameters and receptive "
         "field: conv1 turns the 1×28×28 image into 6×28×28 with 156 weights.",
         {"model": "lenet", "input": "1x28x28"}),
    Step("Small VGG", "build", "VGG-11 with channels ÷ 4 (the textbook's small_conv_arch): five blocks "
         "of 3×3 convolutions, each halving the side: open the Diagram tab to see them as boxes.",
         {"model": "vgg11", "input": "1x224x224", "width_divisor": "4"}),
    Step("3×3 vs 5×5", "lessons", "Two stacked 3×3 convolutions see 5×5 pixels, like one 5×5 convolution, "
         "with fewer weights: the first panel counts them."),
    Step("A unit's field", "see", "The box: what one unit of LeNet's pool2 can see. The heat: where it "
         "really looks. Click another unit.",
         {"model": "lenet", "input": "1x28x28", "layer": "pool2"}),
    Step("Short run", "train", "Press Launch run: LeNet on the built-in shapes trains in seconds on a "
         "CPU, its curves drawn live.", {"model": "lenet", "input": "1x28x28"}),
    Step("Compare", "compare", "Every run in one table; pick two to overlay their curves or diff their "
         "configs."),
)


def _prepare(step: Step, index: int) -> None:
    """Before the rerun (a button callback, so the widgets take these values): the step's model and
    its controls."""
    st.session_state[STEP] = index
    if "model" in step.params:
        controls.reset_controls()
        st.session_state[model_state.KEY] = model_state.from_params(step.params)


def hidden() -> bool:
    """Whether the tour was dismissed, in this session or in the link it was opened with."""
    if st.query_params.get(LINK) == "hidden":
        st.session_state[HIDDEN] = True
    return bool(st.session_state.get(HIDDEN))


def keep_in_link() -> None:
    """Once dismissed, say so in the link (after the page wrote its own parameters)."""
    if st.session_state.get(HIDDEN) and st.query_params.get(LINK) != "hidden":
        st.query_params[LINK] = "hidden"


def panel(pages: dict[str, st.Page]) -> None:
    """The strip, unless dismissed; `pages` maps each page's file stem to its st.Page."""
    if hidden():
        return
    current = st.session_state.get(STEP)
    st.html(STYLE)
    with st.container(border=True, key="tour"):
        where, *columns = st.columns([1.1, *[1] * len(STEPS), 0.3], vertical_alignment="center")
        step_of = "" if current is None else f" · step {current + 1} of {len(STEPS)}"
        where.caption(f"**Start here**{step_of}", help=INTRO if current is None else STEPS[current].hint)
        for index, (step, column) in enumerate(zip(STEPS, columns, strict=False)):
            if column.button(f"{index + 1} · {step.label}", key=f"tour_{index}", width="stretch",
                             type="primary" if index == current else "secondary",
                             on_click=_prepare, args=(step, index)):
                st.switch_page(pages[step.page], query_params=step.params)
        if columns[-1].button("✕", key="tour_hide", help="Hide the tour (for this session and its link)"):
            st.session_state[HIDDEN] = True
            keep_in_link()
            st.rerun()
