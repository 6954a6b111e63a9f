"""Every page of the app, in menu order; app.py registers exactly these with st.navigation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    url_path: str
    icon: str
    claim: str


HOME = PageSpec("app_pages/home.py", "Overview", "home", ":material/home:", "")

PHENOMENA = [
    PageSpec("app_pages/optimization.py", "Bigger models train easier", "optimization", ":material/trending_down:",
             "Wider networks reach lower training loss in fewer steps."),
    PageSpec("app_pages/implicit_bias.py", "Implicit bias", "implicit-bias", ":material/call_split:",
             "Gradient descent picks the minimum-norm fit, or the max-margin direction, without being told."),
    PageSpec("app_pages/double_descent.py", "Double descent", "double-descent", ":material/ssid_chart:",
             "Test error peaks where the model can just interpolate, p = n, and falls again beyond it."),
    PageSpec("app_pages/benign_overfitting.py", "Benign overfitting", "benign-overfitting", ":material/blur_on:",
             "Fitting noisy labels exactly can be harmless: a few strong directions, many weak ones."),
    PageSpec("app_pages/lazy_training.py", "Lazy training", "lazy-training", ":material/hourglass_empty:",
             "The wider the network, the less training moves it: it becomes kernel regression with the NTK."),
    PageSpec("app_pages/width_depth.py", "Width vs depth", "width-depth", ":material/stacks:",
             "At the same parameter count, deep narrow plain nets stop training; skip connections fix it."),
    PageSpec("app_pages/mode_connectivity.py", "Mode connectivity", "mode-connectivity", ":material/conversion_path:",
             "Two nets from different seeds: a hill on the straight line between them, mostly a permutation, and a low curved path."),
    PageSpec("app_pages/lottery_ticket.py", "Lottery tickets", "lottery-ticket", ":material/content_cut:",
             "Pruned to a tenth of its weights and reset to its initial values, a subnetwork still trains to full accuracy."),
    PageSpec("app_pages/scaling.py", "Costs and scaling", "scaling", ":material/query_stats:",
             "The best model size grows with compute, but slower than compute; counting inference shrinks it."),
]
