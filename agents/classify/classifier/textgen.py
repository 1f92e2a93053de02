"""Generated pages of the two document types the synthetic generator does not make.

``scientific_technical`` (paper pages: title pages with abstracts, body text with equations and
figure captions, tables of results, reference lists; and technical data sheets) and ``other``
(recipes, meeting minutes, news articles, CVs, menus, event programmes, stories, notices).
Everything here was written for this project from word lists and sentence templates; no text is
copied from anywhere. Pages are lists of text lines in reading order, deterministic for a seed,
so a training set can be rebuilt anywhere without shipping data. They are a stand-in for real
pages: the real DocBank pages stay held out to measure how far that stand-in carries.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Page = list[str]

# --- scientific and technical --------------------------------------------------------------------

FIELDS = {
    "physics": (
        ["neutrino", "dark matter", "the Higgs boson", "spin chains", "quantum dots", "the cosmic microwave background",
         "superconducting qubits", "gravitational waves", "topological insulators", "plasma turbulence",
         "heavy-ion collisions", "the fusion cross section", "Bose-Einstein condensates", "galaxy clusters"],
        ["cross section", "coupling constant", "Hamiltonian", "ground state", "magnetic field", "decay width",
         "scattering amplitude", "energy spectrum", "phase transition", "effective potential", "lattice spacing",
         "relic density", "luminosity", "wave function"],
    ),
    "computer science": (
        ["graph neural networks", "distributed consensus", "program synthesis", "image segmentation",
         "federated learning", "approximate nearest neighbour search", "compiler optimisation",
         "reinforcement learning", "language models", "stream processing", "cache replacement policies",
         "differential privacy", "sparse attention", "query optimisation"],
        ["algorithm", "loss function", "training set", "baseline", "encoder", "latency", "throughput",
         "benchmark", "complexity bound", "embedding", "gradient", "hyperparameter", "regret bound", "speed-up"],
    ),
    "mathematics": (
        ["elliptic curves", "random matrices", "Sobolev spaces", "graph colouring", "Markov chains",
         "Banach algebras", "optimal transport", "modular forms", "convex polytopes", "stochastic "
         "differential equations"],
        ["lemma", "theorem", "corollary", "bounded operator", "eigenvalue", "measure", "manifold", "invariant",
         "sequence", "inequality", "norm", "martingale", "subgroup", "isomorphism"],
    ),
    "biology": (
        ["protein folding", "gene regulatory networks", "the gut microbiome", "CRISPR screens", "cell migration",
         "neural circuits", "antibiotic resistance", "single-cell RNA sequencing", "plant immunity", "viral evolution"],
        ["expression level", "mutant", "sample", "cohort", "pathway", "receptor", "phenotype", "assay", "genome",
         "sequence alignment", "control group", "knockout", "transcript", "binding affinity"],
    ),
    "engineering": (
        ["lithium-ion batteries", "wind turbine blades", "power converters", "fatigue cracks", "heat exchangers",
         "MEMS sensors", "antenna arrays", "concrete creep", "robot manipulators", "traffic flow"],
        ["efficiency", "load", "stiffness", "frequency response", "controller", "voltage", "temperature gradient",
         "finite element model", "tolerance", "damping ratio", "signal-to-noise ratio", "prototype", "actuator",
         "operating point"],
    ),
}

SURNAMES = ["Smith", "Nakamura", "Müller", "Rossi", "Chen", "Kowalski", "Dubois", "Okafor", "Ivanova", "García",
            "Johansson", "Patel", "Kim", "O'Brien", "Novak", "Haddad", "Silva", "Andersen", "Tanaka", "Weber",
            "Lefebvre", "Moreau", "Fischer", "Zhang", "Wang", "Singh", "Kaur", "Yilmaz", "Costa", "Jansen"]
INITIALS = "ABCDEFGHIJKLMNOPRSTVWY"
INSTITUTES = ["Department of Physics, University of {c}", "Institute for Theoretical Physics, {c}",
              "School of Computer Science, {c} University", "Max Planck Institute for {f}, {c}",
              "Laboratoire de {f}, Université de {c}", "Center for {f}, {c} Institute of Technology",
              "Faculty of Engineering, University of {c}", "Department of Mathematics, {c} College"]
CITIES = ["Heidelberg", "Kyoto", "Toronto", "Lyon", "Edinburgh", "Seoul", "Madrid", "Utrecht", "Zurich", "Austin",
          "Bangalore", "Melbourne", "Warsaw", "Lausanne", "Delft", "Padova", "Uppsala", "Haifa"]
JOURNALS = ["Phys. Rev. Lett.", "Phys. Rev. D", "JHEP", "Astrophys. J.", "Nature", "Science", "JCAP",
            "Nucl. Phys. B", "IEEE Trans. Pattern Anal. Mach. Intell.", "J. Mach. Learn. Res.", "Ann. of Math.",
            "Proc. Natl. Acad. Sci.", "Cell", "J. Fluid Mech.", "Commun. Math. Phys.", "ACM Trans. Graph."]
VENUES = ["Proceedings of NeurIPS", "Proceedings of the ACM SIGMOD Conference", "Proceedings of ICML",
          "Proceedings of the IEEE CVPR", "Proceedings of OSDI", "Proceedings of STOC", "Proceedings of VLDB"]
SECTIONS = ["Introduction", "Related Work", "Background", "Model", "Method", "Theoretical Framework",
            "Experimental Setup", "Results", "Numerical Results", "Discussion", "Conclusions", "Analysis",
            "Evaluation", "Preliminaries", "Main Results", "Proof of Theorem {n}", "Simulations", "Data and Methods",
            "Acknowledgments", "Appendix A"]
GREEK = ["α", "β", "γ", "δ", "ε", "θ", "λ", "μ", "ν", "σ", "τ", "φ", "ω", "Λ", "Σ", "Ω", "∆", "ψ"]

SCI_SENTENCES = [
    "In this work we study {topic} and show that the {q} can be computed in closed form.",
    "We propose a new approach to {topic} based on a careful analysis of the {q}.",
    "Our results indicate that the {q} depends only weakly on the {q2} in the regime considered.",
    "As shown in Fig. {n}, the {q} increases monotonically with {sym} for all values of {sym2}.",
    "The {q} is given by Eq. ({n}), where {sym} denotes the {q2} and {sym2} is a free parameter.",
    "Previous studies [{n}, {m}] focused on the limit {sym} → 0, which is not accessible experimentally.",
    "We compare our method with the baseline of Ref. [{n}] and find an improvement of {p}%.",
    "Table {n} summarises the {q} obtained for the different configurations.",
    "This implies that the {q} is bounded from above by the {q2}, as anticipated in Section {n}.",
    "The error bars correspond to one standard deviation over {k} independent runs.",
    "In the following we assume that {sym} ≪ {sym2}, so that higher-order corrections can be neglected.",
    "A detailed derivation is given in Appendix {A}; here we only sketch the main steps.",
    "The numerical simulations were performed on a grid of {k} × {k} points with periodic boundary conditions.",
    "It is well known that {topic} exhibits a rich structure of the {q} [{n}].",
    "Substituting Eq. ({n}) into Eq. ({m}) yields the {q} to leading order in {sym}.",
    "We note that the {q} vanishes identically when {sym} = {sym2}, in agreement with Refs. [{n}–{m}].",
    "The remainder of this paper is organised as follows: Section {n} introduces the {q}, and Section "
    "{m} presents our results.",
    "These findings suggest that {topic} may be used to constrain the {q} with unprecedented precision.",
    "Let {sym} be a {q} and suppose that the {q2} is finite; then the {q} converges.",
    "Proof. By Lemma {n} it suffices to bound the {q} for each {sym}, which follows from the inequality above.",
    "The data were collected between {y} and {y2} and processed with a standard pipeline [{n}].",
    "Our implementation reaches a {q} of {x} on the standard benchmark, compared with {x2} for the best "
    "previous method.",
    "Figure {n} shows the {q} as a function of {sym} for three values of the {q2}.",
    "The fit yields {sym} = {x} ± {x3} (stat.) ± {x3} (syst.), consistent with the theoretical prediction.",
]
ABSTRACT_OPENERS = ["Abstract", "ABSTRACT", "Abstract.", "Summary"]
KEYWORDS = ["Keywords:", "Index Terms—", "PACS numbers:", "MSC 2010:"]
TECH_PRODUCTS = ["Step-down DC/DC converter", "Low-noise operational amplifier", "Industrial pressure transmitter",
                 "Brushless DC motor controller", "Ultrasonic flow meter", "Temperature sensor IC",
                 "Hydraulic gear pump", "Solid-state relay", "Fibre optic transceiver", "Servo drive"]
TECH_PARAMS = [("Supply voltage", "V", 1.8, 48), ("Operating temperature", "°C", -40, 125),
               ("Quiescent current", "µA", 1, 900), ("Output current", "A", 0.1, 20), ("Switching frequency",
               "kHz", 100, 2200),
               ("Accuracy", "%", 0.05, 2), ("Response time", "ms", 0.1, 50), ("Pressure range", "bar", 1, 400),
               ("Input offset voltage", "mV", 0.01, 5), ("Bandwidth", "MHz", 0.5, 300), ("Weight", "g", 2, 900),
               ("Efficiency", "%", 80, 98), ("Thermal resistance", "K/W", 0.5, 60), ("Flow rate", "l/min", 0.5, 300)]


class _Sci:
    """A paper's vocabulary: its field, topic, quantities and authors."""

    def __init__(self, r: random.Random) -> None:
        self.r = r
        field = r.choice(list(FIELDS))
        self.topics, self.quantities = FIELDS[field]
        self.topic = r.choice(self.topics)
        self.field = field

    def sym(self) -> str:
        r = self.r
        base = r.choice(GREEK + list("xyzkEMNTgmpq"))
        return base + r.choice(["", "", "_0", "_i", "²", "_eff", "(t)", "_n"])

    def sentence(self) -> str:
        r = self.r
        return r.choice(SCI_SENTENCES).format(
            topic=r.choice(self.topics), q=r.choice(self.quantities), q2=r.choice(self.quantities),
            sym=self.sym(), sym2=self.sym(), n=r.randint(1, 12), m=r.randint(13, 48), p=r.randint(3, 40),
            k=r.choice([16, 32, 64, 128, 256, 1000]), A=r.choice("ABC"), y=r.randint(1995, 2015),
            y2=r.randint(2016, 2024), x=f"{r.uniform(0.1, 99):.2f}", x2=f"{r.uniform(0.1, 99):.2f}",
            x3=f"{r.uniform(0.01, 0.9):.2f}",
        )

    def paragraph(self, n: int) -> str:
        return " ".join(self.sentence() for _ in range(n))

    def equation(self, number: int) -> str:
        r = self.r
        a, b, c = self.sym(), self.sym(), self.sym()
        forms = [f"{a} = {b} + {r.randint(2, 9)}{c}² / (1 − {b})", f"∫ d{a} exp(−{b}{a}²) = √(π/{b})",
                 f"{a}({b}) = Σ_k {c}_k {b}^k", f"∂{a}/∂t = {b} ∇²{a} − {c}{a}", f"⟨{a}⟩ = Tr(ρ {a})",
                 f"{a} ≤ C ‖{b}‖² log(1 + {c})", f"L({a}) = −Σ_i log p({b}_i | {c}_i)"]
        return f"{r.choice(forms)}    ({number})"

    def author(self) -> str:
        r = self.r
        return f"{r.choice(INITIALS)}. {r.choice(INITIALS) + '. ' if r.random() < 0.3 else ''}{r.choice(SURNAMES)}"

    def reference(self, n: int, style: str) -> str:
        """One bibliography entry; ``style`` is bracket ([3]), dot (3.), plain or author-year."""
        r = self.r
        authors = ", ".join(self.author() for _ in range(r.randint(1, 4)))
        if r.random() < 0.3:
            authors += " et al."
        year = r.randint(1985, 2024)
        title = f"{r.choice(['On', 'Towards', 'Measuring', 'A note on', 'Learning'])} {r.choice(self.topics)}"
        if r.random() < 0.6:
            ref = f"{r.choice(JOURNALS)} {r.randint(1, 200)}, {r.randint(1, 9999)} ({year})"
        else:
            ref = f"{r.choice(VENUES)}, pp. {r.randint(1, 900)}–{r.randint(901, 1200)}, {year}"
        if r.random() < 0.4:
            ref += f" [arXiv:{r.randint(1001, 2312)}.{r.randint(1000, 29999):05d}]"
        if style == "author-year":
            return f"{authors} ({year}). {title}. {ref.rsplit(' (', 1)[0]}."
        prefix = {"bracket": f"[{n}] ", "dot": f"{n}. ", "plain": ""}[style]
        return f"{prefix}{authors}, {title + ', ' if r.random() < 0.5 else ''}{ref}."


def _wrap(text: str, width: int) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines


def sci_title_page(r: random.Random) -> Page:
    s = _Sci(r)
    title = r.choice([f"On the {s.quantities[0]} of {s.topic}", f"{s.topic.capitalize()}: a new perspective",
                      f"Efficient methods for {s.topic}", f"Constraints on {s.topic} from precision measurements",
                      f"A {r.choice(['unified', 'scalable', 'rigorous', 'simple'])} approach to {s.topic}"])
    width = r.choice([60, 80, 95])
    lines = _wrap(title, 55)
    lines.append(", ".join(s.author() for _ in range(r.randint(1, 6))))
    for i in range(r.randint(1, 3)):
        lines.append(f"{i + 1} " + r.choice(INSTITUTES).format(c=r.choice(CITIES), f=s.field.title()))
    if r.random() < 0.5:
        month = r.choice(["January", "March", "June", "October"])
        lines.append(f"(Dated: {month} {r.randint(1, 28)}, {r.randint(2005, 2024)})")
    lines.append(r.choice(ABSTRACT_OPENERS))
    lines += _wrap(s.paragraph(r.randint(4, 7)), width)
    if r.random() < 0.6:
        lines.append(f"{r.choice(KEYWORDS)} " + ", ".join(r.sample(s.topics, 3)))
    lines.append(f"{'I.' if r.random() < 0.5 else '1'} {'INTRODUCTION' if r.random() < 0.5 else 'Introduction'}")
    lines += _wrap(s.paragraph(r.randint(3, 8)), width)
    if r.random() < 0.5:
        lines.append(f"arXiv:{r.randint(1001, 2312)}.{r.randint(1000, 29999):05d}v{r.randint(1, 3)} "
                     f"[{r.choice(['hep-ph', 'cs.LG', 'math.PR', 'q-bio.GN', 'astro-ph.CO', 'cond-mat.str-el'])}]")
    return lines


def sci_body_page(r: random.Random) -> Page:
    s = _Sci(r)
    width = r.choice([60, 80, 95])
    lines: list[str] = [] if r.random() < 0.5 else [str(r.randint(2, 30))]
    eq = r.randint(1, 20)
    for _ in range(r.randint(2, 4)):
        if r.random() < 0.5:
            n = r.randint(2, 7)
            lines.append(f"{n}.{r.randint(1, 4)} " if r.random() < 0.5 else f"{n} ")
            lines[-1] += r.choice(SECTIONS).format(n=r.randint(1, 5))
        lines += _wrap(s.paragraph(r.randint(2, 6)), width)
        for _ in range(r.randint(0, 2)):
            lines.append(s.equation(eq))
            eq += 1
            lines += _wrap(s.paragraph(1), width)
        if r.random() < 0.4:
            lines.append(f"{r.choice(['FIG.', 'Figure', 'Fig.'])} {r.randint(1, 9)}: " + s.sentence())
    return lines


def sci_table_page(r: random.Random) -> Page:
    s = _Sci(r)
    width = r.choice([60, 80, 95])
    lines = _wrap(s.paragraph(r.randint(2, 4)), width)
    methods = ["Baseline", "Ours", "Ref. [12]", "Model A", "Model B", "Full", "w/o pre-training", "Linear", "LO", "NLO"]
    cols = r.sample(s.quantities, 3)
    lines.append(f"TABLE {r.choice(['I', 'II', 'III', '1', '2'])}. {s.sentence()}")
    lines.append("Method " + " ".join(c.title() for c in cols))
    for m in r.sample(methods, r.randint(4, 8)):
        lines.append(m + " " + " ".join(f"{r.uniform(0, 100):.{r.choice([1, 2, 3])}f}" for _ in cols))
    lines += _wrap(s.paragraph(r.randint(2, 5)), width)
    return lines


def sci_references_page(r: random.Random) -> Page:
    s = _Sci(r)
    lines = []
    if r.random() < 0.5:
        lines += _wrap(s.paragraph(r.randint(1, 3)), 80)
        lines.append(r.choice(["References", "REFERENCES", "Bibliography", "Acknowledgments"]))
        if lines[-1] == "Acknowledgments":
            lines.append(f"This work was supported by grant {r.randint(100000, 999999)} of the "
                         f"{r.choice(['National Science Foundation', 'European Research Council', 'DFG'])}.")
            lines.append("References")
    first = r.randint(1, 40)
    style = r.choice(["bracket", "bracket", "dot", "plain", "author-year"])
    for n in range(first, first + r.randint(10, 22)):
        lines += _wrap(s.reference(n, style), 90)
    return lines


def sci_figure_page(r: random.Random) -> Page:
    """A page dominated by a figure: diagram labels, axis ticks and a legend, then its caption."""
    s = _Sci(r)
    lines: list[str] = []
    blocks = ["Input", "Conv 3x3", "Max-pool 2x2", "Encoder", "Decoder", "Attention", "Linear", "Softmax",
              "Detector", "Amplifier", "Filter", "ADC", "Sample", "Control", "Output"]
    for _ in range(r.randint(6, 14)):
        kind = r.random()
        if kind < 0.4:
            labels = [f"{r.choice(blocks)} {r.choice(['', '| ', '→ '])}{r.choice([16, 32, 64, 128, 256, 384])}"
                      for _ in range(r.randint(1, 3))]
            lines.append(" ".join(labels))
        elif kind < 0.7:
            lines.append(" ".join(f"{r.uniform(0, 10):.{r.choice([0, 1])}f}" for _ in range(r.randint(3, 7))))
        else:
            lines.append(f"{r.choice(s.quantities)} {r.choice(['(a)', '(b)', '(c)', '[arb. units]', '(GeV)', '(%)'])}")
    lines.append(f"{r.choice(['FIG.', 'Figure', 'Fig.'])} {r.randint(1, 9)}. {s.sentence()} {s.sentence()}")
    lines += _wrap(s.paragraph(r.randint(1, 3)), r.choice([60, 80, 95]))
    return lines


def tech_datasheet_page(r: random.Random) -> Page:
    product = r.choice(TECH_PRODUCTS)
    part = f"{r.choice(['TX', 'LM', 'PX', 'HV', 'SR', 'QF'])}{r.randint(100, 9999)}{r.choice(['', 'A', '-Q1', 'B'])}"
    lines = [f"{part}", product, f"Datasheet – Rev. {r.randint(1, 9)}.{r.randint(0, 9)}",
             "1 Features"]
    for name, unit, lo, hi in r.sample(TECH_PARAMS, 4):
        lines.append(f"• {name}: {r.uniform(lo, hi):.3g} {unit}")
    lines.append("2 Applications")
    lines.append(", ".join(r.sample(["Industrial automation", "Automotive body electronics", "Medical devices",
                                     "Test and measurement", "Telecom infrastructure", "Battery management",
                                     "HVAC systems"], 3)))
    lines.append("3 Description")
    s = _Sci(r)
    lines += _wrap(f"The {part} is a {product.lower()} designed for demanding environments. " + s.sentence(), 90)
    lines.append("4 Electrical Characteristics")
    lines.append("Parameter Symbol Conditions Min Typ Max Unit")
    for name, unit, lo, hi in r.sample(TECH_PARAMS, r.randint(5, 9)):
        a, b = sorted((r.uniform(lo, hi), r.uniform(lo, hi)))
        lines.append(f"{name} {r.choice([*GREEK, 'V_IN', 'I_Q', 'f_SW', 'T_J'])} "
                     f"T_A = 25 °C {a:.3g} {(a + b) / 2:.3g} {b:.3g} {unit}")
    lines.append(f"Figure {r.randint(1, 9)}. {r.choice(['Efficiency', 'Output voltage', 'Gain'])} vs. "
                 f"{r.choice(['load current', 'temperature', 'frequency'])}")
    return lines


SCIENTIFIC: tuple[tuple[Callable[[random.Random], Page], int], ...] = (
    (sci_title_page, 3),
    (sci_body_page, 4),
    (sci_table_page, 2),
    (sci_references_page, 2),
    (sci_figure_page, 1),
    (tech_datasheet_page, 1),
)

# --- other ---------------------------------------------------------------------------------------

DISHES = {
    "en": ["Lemon chicken with rice", "Vegetable lasagne", "Apple crumble", "Pumpkin soup", "Banana bread",
           "Mushroom risotto", "Fish pie", "Lentil curry"],
    "de": ["Kartoffelsuppe mit Würstchen", "Apfelstrudel", "Gemüseauflauf", "Linseneintopf", "Käsespätzle",
           "Zwiebelkuchen", "Rinderrouladen"],
    "fr": ["Quiche lorraine", "Ratatouille", "Tarte aux pommes", "Soupe à l'oignon", "Gratin dauphinois",
           "Crêpes au sucre", "Bœuf bourguignon"],
}
INGREDIENTS = {
    "en": ["onions", "garlic cloves", "olive oil", "butter", "flour", "eggs", "milk", "salt", "pepper", "sugar",
           "carrots", "potatoes", "cream", "parsley", "rice", "lemon", "chicken stock", "cheese", "tomatoes"],
    "de": ["Zwiebeln", "Knoblauchzehen", "Olivenöl", "Butter", "Mehl", "Eier", "Milch", "Salz", "Pfeffer",
           "Zucker", "Karotten", "Kartoffeln", "Sahne", "Petersilie", "Reis", "Zitrone", "Brühe", "Käse"],
    "fr": ["oignons", "gousses d'ail", "huile d'olive", "beurre", "farine", "œufs", "lait", "sel", "poivre",
           "sucre", "carottes", "pommes de terre", "crème", "persil", "riz", "citron", "bouillon", "fromage"],
}
STEPS = {
    "en": ["Preheat the oven to {t} °C.", "Chop the {i} finely.", "Melt the {i} in a large pan.",
           "Add the {i} and stir for {m} minutes.", "Season with {i} to taste.", "Bake for {m} minutes until golden.",
           "Leave to rest before serving.", "Whisk the {i} with the {i2} until smooth.", "Bring to the boil, "
           "then simmer."],
    "de": ["Den Ofen auf {t} °C vorheizen.", "Die {i} fein hacken.", "Die {i} in einem Topf erhitzen.",
           "Die {i} zugeben und {m} Minuten rühren.", "Mit {i} abschmecken.", "{m} Minuten goldbraun backen.",
           "Vor dem Servieren kurz ruhen lassen.", "Die {i} mit den {i2} glatt rühren."],
    "fr": ["Préchauffer le four à {t} °C.", "Hacher finement les {i}.", "Faire fondre le {i} dans une poêle.",
           "Ajouter les {i} et remuer pendant {m} minutes.", "Assaisonner avec le {i}.",
           "Cuire au four {m} minutes jusqu'à ce que ce soit doré.", "Laisser reposer avant de servir."],
}
WORDS = {
    "en": {"ingredients": "Ingredients", "method": "Method", "serves": "Serves", "minutes": "Preparation time",
           "minutes_of": "Minutes of the meeting", "present": "Present", "apologies": "Apologies", "agenda": "Agenda",
           "actions": "Action points", "next": "Next meeting", "menu": "Menu", "starters": "Starters",
           "mains": "Main courses", "desserts": "Desserts", "drinks": "Drinks", "programme": "Programme",
           "cv": "Curriculum Vitae", "experience": "Work experience", "education": "Education", "skills": "Skills",
           "languages": "Languages", "notice": "NOTICE"},
    "de": {"ingredients": "Zutaten", "method": "Zubereitung", "serves": "Für", "minutes": "Zubereitungszeit",
           "minutes_of": "Protokoll der Sitzung", "present": "Anwesend", "apologies": "Entschuldigt",
           "agenda": "Tagesordnung", "actions": "Aufgaben", "next": "Nächste Sitzung", "menu": "Speisekarte",
           "starters": "Vorspeisen", "mains": "Hauptgerichte", "desserts": "Nachspeisen", "drinks": "Getränke",
           "programme": "Programm", "cv": "Lebenslauf", "experience": "Berufserfahrung", "education": "Ausbildung",
           "skills": "Kenntnisse", "languages": "Sprachen", "notice": "BEKANNTMACHUNG"},
    "fr": {"ingredients": "Ingrédients", "method": "Préparation", "serves": "Pour", "minutes": "Temps de préparation",
           "minutes_of": "Compte rendu de la réunion", "present": "Présents", "apologies": "Excusés",
           "agenda": "Ordre du jour", "actions": "Actions", "next": "Prochaine réunion", "menu": "Menu",
           "starters": "Entrées", "mains": "Plats", "desserts": "Desserts", "drinks": "Boissons",
           "programme": "Programme", "cv": "Curriculum vitae", "experience": "Expérience professionnelle",
           "education": "Formation", "skills": "Compétences", "languages": "Langues", "notice": "AVIS"},
}
PEOPLE = ["Anna Berg", "Tom Fischer", "Claire Martin", "Jonas Weber", "Sara Lindqvist", "Marc Dubois",
          "Emily Clarke", "Lukas Vogel", "Nora Jansen", "Paul Morel", "Ines Costa", "David Hughes"]
TOPICS = {
    "en": ["the new playground", "the summer festival", "the parking situation", "the library opening hours",
           "the club budget", "the website redesign", "the volunteer rota", "the garden project"],
    "de": ["den neuen Spielplatz", "das Sommerfest", "die Parkplatzsituation", "die Öffnungszeiten der Bibliothek",
           "den Vereinshaushalt", "die neue Webseite", "den Dienstplan", "das Gartenprojekt"],
    "fr": ["la nouvelle aire de jeux", "la fête d'été", "le stationnement", "les horaires de la bibliothèque",
           "le budget de l'association", "le nouveau site web", "le planning des bénévoles", "le jardin partagé"],
}
NEWS = {
    "en": ["The town council met on {d} to discuss {topic}.", "Residents expressed concern about {topic}.",
           "According to the mayor, a decision is expected before the end of the year.",
           "Local businesses welcomed the plan, although some questioned its timing.",
           "Heavy rain over the weekend caused flooding in several streets.",
           "The local football team won {a}–{b} in front of a crowd of {n} supporters.",
           "Tickets are available from the tourist office and online.",
           "The exhibition opens on {d} and runs for six weeks.",
           "Police asked drivers to avoid the area during the works.",
           "Organisers said they were delighted with the turnout."],
    "de": ["Der Gemeinderat tagte am {d} und beriet über {topic}.", "Anwohner äußerten Bedenken über {topic}.",
           "Nach Angaben des Bürgermeisters fällt die Entscheidung noch in diesem Jahr.",
           "Der örtliche Fußballverein gewann {a}:{b} vor {n} Zuschauern.",
           "Starker Regen sorgte am Wochenende für überflutete Straßen.",
           "Die Ausstellung ist ab dem {d} sechs Wochen lang zu sehen.",
           "Die Veranstalter zeigten sich mit dem Besuch sehr zufrieden."],
    "fr": ["Le conseil municipal s'est réuni le {d} pour discuter de {topic}.",
           "Les habitants se sont inquiétés de {topic}.", "Selon le maire, une décision est attendue avant la "
           "fin de l'année.",
           "L'équipe locale a gagné {a} à {b} devant {n} supporters.",
           "De fortes pluies ont provoqué des inondations dans plusieurs rues.",
           "L'exposition ouvre le {d} et dure six semaines.", "Les organisateurs se sont dits ravis de la "
           "participation."],
}
STORY = {
    "en": ["The morning was grey and quiet when she left the house.",
           "Nobody in the village remembered the old mill working.",
           "He folded the letter twice and put it back in the drawer.", "The train was late again, as it "
           "always was on Mondays.",
           "They walked along the river until the lights of the town disappeared.", "It had not rained for "
           "weeks, and the fields were brown.",
           "“We should have stayed,” he said, without looking up.", "The cat watched them from the windowsill, "
           "unimpressed.",
           "By evening the wind had dropped and the sea was calm."],
    "de": ["Der Morgen war grau und still, als sie das Haus verließ.",
           "Niemand im Dorf erinnerte sich an die alte Mühle.",
           "Er faltete den Zettel zweimal und legte ihn zurück.", "Der Zug hatte wieder Verspätung.",
           "Sie gingen am Fluss entlang, bis die Lichter der Stadt verschwanden.", "„Wir hätten bleiben "
           "sollen“, sagte er leise."],
    "fr": ["Le matin était gris et calme quand elle quitta la maison.",
           "Personne au village ne se souvenait du vieux moulin.",
           "Il plia la lettre deux fois et la remit dans le tiroir.", "Le train avait encore du retard.",
           "Ils marchèrent le long de la rivière jusqu'à la nuit.", "« Nous aurions dû rester », dit-il doucement."],
}
JOBS = ["Software developer", "Project manager", "Nurse", "Sales assistant", "Mechanical engineer", "Teacher",
        "Graphic designer", "Warehouse supervisor", "Accountant", "Chef"]
COMPANIES = ["Northwind GmbH", "Bluebird Ltd", "Atelier Rive SARL", "Kestrel Systems", "Harbour Clinic",
             "City School", "Alpen Logistik AG", "Café Soleil"]


def _lang(r: random.Random) -> str:
    return r.choice(["en", "en", "de", "fr"])


def _date(r: random.Random) -> str:
    return f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.{r.randint(2019, 2025)}"


def recipe_page(r: random.Random) -> Page:
    lang = _lang(r)
    w = WORDS[lang]
    ingredients = INGREDIENTS[lang]
    lines = [r.choice(DISHES[lang]), f"{w['serves']} {r.randint(2, 8)} · {w['minutes']}: {r.randint(10, 90)} min",
             w["ingredients"]]
    for item in r.sample(ingredients, r.randint(5, 9)):
        amount = r.choice(["1", "2", "3", "200 g", "1/2", "100 ml", "1 tbsp"])
        lines.append(f"{r.choice(['', '• ', '- '])}{amount} {item}")
    lines.append(w["method"])
    for n in range(1, r.randint(4, 8)):
        step = r.choice(STEPS[lang]).format(t=r.choice([160, 180, 200, 220]), i=r.choice(ingredients),
                                            i2=r.choice(ingredients), m=r.randint(2, 45))
        lines.append(f"{n}. {step}")
    return lines


def minutes_page(r: random.Random) -> Page:
    lang = _lang(r)
    w = WORDS[lang]
    club = r.choice(["Riverside Residents' Association", "Tennisclub Grün-Weiß", "Association des parents d'élèves",
                     "Allotment Society", "Chess Club", "Chorale Saint-Michel", "Sportverein Eintracht"])
    lines = [club, f"{w['minutes_of']} – {_date(r)}", f"{w['present']}: " + ", ".join(r.sample(PEOPLE, 4)),
             f"{w['apologies']}: {r.choice(PEOPLE)}", w["agenda"]]
    topics = TOPICS[lang]
    for n in range(1, r.randint(4, 7)):
        lines.append(f"{n}. {r.choice(topics).capitalize()}")
        lines += _wrap(" ".join(r.choice(NEWS[lang]).format(d=_date(r), topic=r.choice(topics), a=r.randint(0, 5),
                                                            b=r.randint(0, 5), n=r.randint(100, 900))
                                for _ in range(r.randint(1, 2))), 85)
    lines.append(w["actions"])
    for person in r.sample(PEOPLE, 2):
        lines.append(f"- {person}: {r.choice(topics)}")
    lines.append(f"{w['next']}: {_date(r)}")
    return lines


def news_page(r: random.Random) -> Page:
    lang = _lang(r)
    topics = TOPICS[lang]
    paper = r.choice(["The Valley Gazette", "Stadtanzeiger", "Le Petit Courrier", "Harbour Town News"])
    headline = r.choice(NEWS[lang]).format(d=_date(r), topic=r.choice(topics), a=1, b=0, n=300).rstrip(".")
    lines = [paper, f"{_date(r)} · {r.choice(['Local', 'Sport', 'Culture', 'Lokales', 'Région'])}", headline,
             f"{r.choice(['By', 'Von', 'Par'])} {r.choice(PEOPLE)}"]
    for _ in range(r.randint(3, 6)):
        text = " ".join(r.choice(NEWS[lang]).format(d=_date(r), topic=r.choice(topics), a=r.randint(0, 5),
                                                   b=r.randint(0, 5), n=r.randint(100, 9000))
                        for _ in range(r.randint(2, 4)))
        lines += _wrap(text, r.choice([45, 70, 90]))
    return lines


def cv_page(r: random.Random) -> Page:
    lang = _lang(r)
    w = WORDS[lang]
    person = r.choice(PEOPLE)
    lines = [w["cv"], person, f"{r.randint(1, 99)} {r.choice(['High Street', 'Lindenweg', 'rue des Lilas'])}",
             f"{person.split()[0].lower()}@example.org", w["experience"]]
    year = r.randint(2005, 2015)
    for _ in range(r.randint(2, 4)):
        end = year + r.randint(1, 5)
        lines.append(f"{year}–{end} {r.choice(JOBS)}, {r.choice(COMPANIES)}")
        lines.append(r.choice(["Responsible for a team of five.", "Planned and delivered customer projects.",
                               "Verantwortlich für die Kundenbetreuung.", "Gestion des commandes et des stocks."]))
        year = end
    lines += [w["education"], f"{r.randint(1995, 2010)} {r.choice(['BSc', 'Abitur', 'Licence', 'MSc', 'Diploma'])}, "
                              f"{r.choice(['University of Leeds', 'TU Berlin', 'Université de Nantes'])}",
              w["skills"], ", ".join(r.sample(["Excel", "Python", "first aid", "driving licence B", "SAP",
                                               "project management", "customer service", "Photoshop"], 4)),
              w["languages"], ", ".join(r.sample(["English", "German", "French", "Spanish", "Dutch"], 3))]
    return lines


def menu_page(r: random.Random) -> Page:
    lang = _lang(r)
    w = WORDS[lang]
    lines = [r.choice(["Trattoria Il Ponte", "Gasthaus zur Linde", "Bistro du Port", "The Red Lion"]), w["menu"]]
    for section in ("starters", "mains", "desserts", "drinks"):
        lines.append(w[section])
        for dish in r.sample(DISHES[lang] + DISHES["fr"], r.randint(2, 4)):
            lines.append(f"{dish} {r.randint(4, 32)}{r.choice([',50', '.50', ',00', '.90', ''])}")
    if r.random() < 0.5:
        lines.append(r.choice(["Please tell us about any allergies.", "Alle Preise inkl. MwSt.", "Service compris."]))
    return lines


def programme_page(r: random.Random) -> Page:
    lang = _lang(r)
    w = WORDS[lang]
    event = r.choice(["Summer Music Festival", "Open Day", "Jazz im Park", "Journée du patrimoine",
                      "Spring Concert", "Community Fair"])
    lines = [event, f"{w['programme']} · {_date(r)}"]
    hour = r.randint(9, 15)
    for _ in range(r.randint(5, 9)):
        lines.append(f"{hour:02d}:{r.choice(['00', '15', '30', '45'])} "
                     + r.choice(["Welcome and opening words", "Children's choir", "Guided tour of the old town",
                                 "Lesung mit der Autorin", "Concert de l'harmonie", "Lunch break", "Prize draw",
                                 "Workshop: painting with watercolours", "Closing remarks"]))
        hour += 1
    lines.append(r.choice(["Free entry. Everyone welcome!", "Eintritt frei.", "Entrée libre."]))
    return lines


def story_page(r: random.Random) -> Page:
    lang = _lang(r)
    lines = [] if r.random() < 0.6 else [r.choice(["Chapter 3", "Kapitel 2", "Chapitre IV", "The Visit"])]
    for _ in range(r.randint(3, 7)):
        lines += _wrap(" ".join(r.choice(STORY[lang]) for _ in range(r.randint(2, 5))), r.choice([55, 70]))
    if r.random() < 0.5:
        lines.append(str(r.randint(5, 250)))
    return lines


def notice_page(r: random.Random) -> Page:
    lang = _lang(r)
    w = WORDS[lang]
    topic = r.choice(TOPICS[lang])
    lines = [w["notice"], r.choice(["Water supply interruption", "Road closure", "Lost cat", "Garage sale",
                                     "Wasserabstellung", "Fermeture de la piscine", "Yoga classes"])]
    lines += _wrap(" ".join(r.choice(NEWS[lang]).format(d=_date(r), topic=topic, a=1, b=2, n=40)
                            for _ in range(r.randint(2, 4))), 60)
    lines.append(f"{r.choice(['Contact', 'Kontakt', 'Renseignements'])}: {r.choice(PEOPLE)}, "
                 f"0{r.randint(100, 999)} {r.randint(100000, 999999)}")
    return lines


OTHER: tuple[tuple[Callable[[random.Random], Page], int], ...] = (
    (recipe_page, 1),
    (minutes_page, 1),
    (news_page, 1),
    (cv_page, 1),
    (menu_page, 1),
    (programme_page, 1),
    (story_page, 1),
    (notice_page, 1),
)

GENERATED_TYPES: dict[str, tuple[tuple[Callable[[random.Random], Page], int], ...]] = {
    "scientific_technical": SCIENTIFIC,
    "other": OTHER,
}


def generate_pages(doc_type: str, count: int, seed: int) -> list[Page]:
    """``count`` pages of ``doc_type`` (scientific_technical or other), the same for the same seed."""
    kinds = GENERATED_TYPES[doc_type]
    pages = []
    for i in range(count):
        r = random.Random(f"pagestream-textgen:{doc_type}:{seed}:{i}")
        make = r.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        pages.append(make(r))
    return pages
