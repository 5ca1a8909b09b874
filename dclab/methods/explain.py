"""What each method does, as data: the objective (LaTeX), the loop in 3-5 lines, what to watch in
the live view, and the paper. Shown on the method pages, in the run form and by
`python -m dclab methods --explain M`; every registered method must have one (tests check).
"""
from __future__ import annotations

from dataclasses import dataclass

from dclab.methods import METHODS


@dataclass(frozen=True)
class Explanation:
    method: str
    title: str
    paper: str  # citation: authors, title, venue, year, arXiv id
    objective: str  # LaTeX, without surrounding $ signs
    loop: tuple[str, ...]  # the algorithm box in 3-5 lines
    watch: str  # what to look for in the live view (grid, loss curve)

    def to_text(self) -> str:
        """Plain-text form (CLI): title, paper, objective, numbered loop, what to watch."""
        lines = [f"{self.method}: {self.title}", f"paper: {self.paper}", f"objective: {self.objective}", "loop:"]
        lines += [f"  {i}. {step}" for i, step in enumerate(self.loop, 1)]
        lines.append(f"watch: {self.watch}")
        return "\n".join(lines)


_EXPLANATIONS: dict[str, Explanation] = {e.method: e for e in (
    Explanation(
        method="dc",
        title="Gradient matching: synthetic images that push a network the way real data does",
        paper="B. Zhao, K. R. Mopuri, H. Bilen. Dataset Condensation with Gradient Matching. ICLR 2021 "
              "(arXiv:2006.05929)",
        objective=r"\min_{S}\ \mathbb{E}_{\theta_0}\Big[\sum_{t}\sum_{c} D\big(\nabla_\theta \ell(S_c;\theta_t),"
                  r"\ \nabla_\theta \ell(B_c;\theta_t)\big)\Big],\quad D=\sum_{\text{layers}}\sum_{i}"
                  r"\Big(1-\frac{\langle g^S_i, g^B_i\rangle}{\lVert g^S_i\rVert\,\lVert g^B_i\rVert}\Big)",
        loop=("draw a fresh random network θ",
              "for each class c: compare the weight gradient of the loss on the synthetic images of c with "
              "that on a real batch of c (1 − cosine, layer by layer)",
              "one gradient step on the synthetic images for the sum over classes",
              "train θ a few steps on the synthetic set, then match again (outer × inner loops)"),
        watch="the loss is a gradient distance: it falls within an iteration (the network adapts) and "
              "jumps back at each fresh network, so watch its trend; the images keep their class shape and "
              "gain sharp, high-contrast strokes where the classes differ",
    ),
    Explanation(
        method="dsa",
        title="Gradient matching under the same random augmentation of real and synthetic batches",
        paper="B. Zhao, H. Bilen. Dataset Condensation with Differentiable Siamese Augmentation. ICML 2021 "
              "(arXiv:2102.08259)",
        objective=r"\min_{S}\ \mathbb{E}_{\theta_0,\omega}\Big[\sum_{t}\sum_{c} D\big(\nabla_\theta "
                  r"\ell(\mathcal{A}_\omega(S_c);\theta_t),\ \nabla_\theta \ell(\mathcal{A}_\omega(B_c);\theta_t)"
                  r"\big)\Big]",
        loop=("draw a fresh random network θ",
              "draw one differentiable transform ω (crop, scale, rotate, colour, cutout, flip) per class",
              "match the gradients of the transformed synthetic and transformed real batch (as DC)",
              "update the images; train θ on augmented synthetic images; repeat"),
        watch="like DC, but the images must work under shifts and rotations, so they look smoother and "
              "more centred than DC's; the loss curve is noisier (a new transform each step)",
    ),
    Explanation(
        method="dm",
        title="Distribution matching: the synthetic images' mean features equal the real ones'",
        paper="B. Zhao, H. Bilen. Dataset Condensation with Distribution Matching. WACV 2023 "
              "(arXiv:2110.04181)",
        objective=r"\min_{S}\ \mathbb{E}_{\theta,\omega}\sum_{c}\Big\lVert \frac{1}{|B_c|}\sum_{x\in B_c}"
                  r"f_\theta(\mathcal{A}_\omega(x)) - \frac{1}{|S_c|}\sum_{s\in S_c}f_\theta(\mathcal{A}_\omega(s))"
                  r"\Big\rVert^2",
        loop=("draw a fresh random network f_θ (never trained) and one augmentation ω",
              "embed a real batch and the synthetic images of every class",
              "loss = squared distance between the class means of the embeddings",
              "one gradient step on the synthetic images; repeat"),
        watch="each iteration is cheap, so the grid moves smoothly; the images drift from single real "
              "examples towards 'average-looking' members of their class, and the loss falls steadily",
    ),
    Explanation(
        method="idc",
        title="Gradient matching with several smaller images packed into each stored image",
        paper="J.-H. Kim, J. Kim, S. J. Oh, S. Yun, H. Song, J. Jeong, J.-W. Ha, H. O. Song. Dataset "
              "Condensation via Efficient Synthetic-Data Parameterization. ICML 2022 (arXiv:2205.14959)",
        objective=r"\min_{S}\ \mathbb{E}_{\theta}\sum_{c} D\big(\nabla_\theta \ell(\mathcal{A}(g(S_c));\theta),"
                  r"\ \nabla_\theta \ell(\mathcal{A}(B_c);\theta)\big),\quad g=\text{split each image into }"
                  r"f^2\text{ upsampled tiles}",
        loop=("decode: each stored image holds factor² downsampled tiles, each upsampled to a training image",
              "network: trained on real data between matches (not on the synthetic set)",
              "match the gradients of the decoded synthetic images and a real batch per class (conv layers)",
              "update the stored images; repeat"),
        watch="the grid shows the stored images: a mosaic of factor x factor small digits each; more "
              "training images for the same storage",
    ),
    Explanation(
        method="mdc",
        title="Multisize condensation: one set whose first n images per class also work on their own",
        paper="Y. He, L. Xiao, J. T. Zhou, I. Tsang. Multisize Dataset Condensation. ICLR 2024 "
              "(arXiv:2403.06075)",
        objective=r"\min_{S}\ \mathcal{L}_{\text{base}}(S) + \mathcal{L}_{\text{base}}(S_{[n^*]}),\quad "
                  r"n^* = \text{the most learnable subset size, re-chosen every } \Delta t \text{ iterations}",
        loop=("run the base method's step (IDC or DM) on the whole set",
              "add the same loss for the prefix subset S[:n*] of each class",
              "every Δt iterations measure how much each subset size is changing and pick the next n*",
              "images before an earlier n* get no gradient from then on"),
        watch="the first columns of the grid settle first; the multisize curve (accuracy vs images per "
              "class) should stay high for small n",
    ),
    Explanation(
        method="dd",
        title="Dataset distillation: learn images (and step sizes) by unrolling training through them",
        paper="T. Wang, J.-Y. Zhu, A. Torralba, A. A. Efros. Dataset Distillation. arXiv:1811.10959 (2018)",
        objective=r"\min_{S,\eta}\ \mathbb{E}_{\theta_0}\ \ell\big(B;\ \theta_T\big),\quad "
                  r"\theta_{t+1}=\theta_t-\eta_t\nabla_\theta\ell(S;\theta_t)",
        loop=("draw a network initialisation θ0",
              "train it a few unrolled steps on the synthetic images with learned step sizes η",
              "measure the trained network's loss on a real batch",
              "back-propagate through the whole unrolled training into the images and η"),
        watch="starts from noise: the images stay noisy-looking for a long time; the loss curve is the "
              "real-batch loss after training on the synthetic set, so lower is directly better",
    ),
    Explanation(
        method="kip",
        title="Kernel inducing points: synthetic images that make kernel regression fit the real data",
        paper="T. Nguyen, Z. Chen, J. Lee. Dataset Meta-Learning from Kernel Ridge-Regression. ICLR 2021 "
              "(arXiv:2011.00050)",
        objective=r"\min_{S,y_S}\ \tfrac12\big\lVert y_B - K_{BS}(K_{SS}+\lambda I)^{-1}y_S\big\rVert^2",
        loop=("draw a real batch B",
              "predict its labels by kernel ridge regression on the synthetic set (an infinite-width "
              "network's kernel)",
              "loss = squared error of those predictions",
              "one Adam step on the images (and the learned labels)"),
        watch="no network is trained: the loss is the kernel's error on real images and falls quickly; "
              "images change little by eye while the labels become soft",
    ),
    Explanation(
        method="mtt",
        title="Trajectory matching: a few steps on the synthetic set should travel as far as many real epochs",
        paper="G. Cazenavette, T. Wang, A. Torralba, A. A. Efros, J.-Y. Zhu. Dataset Distillation by Matching "
              "Training Trajectories. CVPR 2022 (arXiv:2203.11932)",
        objective=r"\min_{S,\alpha}\ \frac{\lVert \hat\theta_{t+N}-\theta^*_{t+M}\rVert^2}"
                  r"{\lVert \theta^*_t-\theta^*_{t+M}\rVert^2},\quad \hat\theta_{t+N}=\text{N steps on }S"
                  r"\text{ from }\theta^*_t",
        loop=("train expert networks on real data once and store their weights per epoch",
              "start a student at a random expert epoch t",
              "take N steps on the synthetic set with a learned step size α",
              "loss = distance to the expert M epochs later, normalised; update images and α"),
        watch="the first step trains the experts (slow once); then the loss is a normalised distance "
              "below 1 when the synthetic steps beat standing still",
    ),
)}


def get_explanation(method: str) -> Explanation:
    """The explanation of a registered method (UnknownNameError for an unknown one, as METHODS.get)."""
    METHODS.get(method)
    try:
        return _EXPLANATIONS[method]
    except KeyError:
        raise KeyError(f"method {method!r} has no explanation in dclab/methods/explain.py") from None


def list_explained() -> list[str]:
    return sorted(_EXPLANATIONS)
