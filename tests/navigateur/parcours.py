"""Parcours de toutes les pages pour chaque rôle (Playwright) : textes visibles et captures d'écran.

Partagé par ``test_francais_navigateur.py`` (aucun texte anglais ni valeur brute visible) et par le script
``python -m tests.navigateur.captures`` (captures pleine page de chaque page × rôle × largeur).
On navigue par les liens de la barre latérale (la session tient au rechargement depuis l'issue 13, mais un
rechargement relancerait toute la page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MOT_DE_PASSE = "une phrase de passe solide"
LARGEUR_ORDINATEUR = 1440
LARGEUR_TELEPHONE = 390
HAUTEUR = 1000


@dataclass(frozen=True)
class Role:
    """Un rôle à parcourir : compte de test (aucun pour le public)."""

    nom: str
    email: str | None = None
    nom_affiche: str | None = None
    role: str | None = None
    communes: tuple[str, ...] = ()


ROLES = (
    Role("public"),
    Role("referent", "referent.parcours@sete.fr", "Camille Référente", "referent", ("34301",)),
    Role("financeur", "financeur.parcours@agence.fr", "Claude Financeur", "financeur"),
    Role("administrateur", "admin.parcours@bassin.fr", "Dominique Syndicat", "administrateur"),
)

# Textes interdits : anglais du téléverseur, unités impériales des échelles, valeurs brutes, années « 2 018 »
# (une année 1990–2039 écrite avec un séparateur de milliers : espace, insécable ou fine après le premier
# chiffre), sauf suivie d'une unité (« 2 018 m² », « 2 018 € » sont des quantités).
INTERDITS = {
    "Upload": re.compile(r"Upload"),
    "200MB": re.compile(r"200\s?MB"),
    "Drag and drop": re.compile(r"Drag and drop", re.IGNORECASE),
    "Browse files": re.compile(r"Browse files", re.IGNORECASE),
    "Choose option": re.compile(r"Choose (an )?options?", re.IGNORECASE),
    "Press Enter": re.compile(r"Press (Ctrl\+|⌘\+)?Enter", re.IGNORECASE),
    "mi": re.compile(r"\bmi\b"),
    "ft": re.compile(r"\bft\b"),
    "None": re.compile(r"\bNone\b"),
    "NaN": re.compile(r"\bNaN\b"),
    "année avec séparateur": re.compile(r"(?<![\d,.])(?:1[ \u00a0\u202f]99|2[ \u00a0\u202f]0[0-3])\d(?![\d,]|"
                                        r"[ \u00a0\u202f]\d|\s*(?:m²|m³|m2|m3|€|%|ha|k€|°))"),
}


def chercher_interdits(texte: str) -> list[str]:
    """Textes interdits trouvés dans ``texte`` : « motif : extrait » pour chacun."""
    trouves = []
    for nom, motif in INTERDITS.items():
        for correspondance in motif.finditer(texte):
            debut, fin = max(correspondance.start() - 40, 0), correspondance.end() + 40
            trouves.append(f"{nom} : …{texte[debut:fin]!r}…")
    return trouves


# État du script publié par Streamlit sur l'élément stApp (« running », « notRunning »…) : l'icône « en cours »
# n'est pas affichée avec la barre d'outils minimale.
CALME = """() => {
    const app = document.querySelector("[data-testid='stApp']");
    const etat = app ? app.getAttribute("data-test-script-state") : "initial";
    return !!document.querySelector("[data-testid='stMain'] h1")
        && !["initial", "running", "rerunRequested", "stopRequested"].includes(etat)
        && !document.querySelector("[data-testid='stMain'] [data-stale='true']");
}"""


# Intervalle des vérifications de calme : trois vérifications de suite couvrent 0,75 s sans relance.
INTERVALLE_CALME_MS = 250


def attendre_calme(page, delai_ms: int = 150_000) -> None:
    """Attend la fin de l'exécution Streamlit : titre de page affiché, script arrêté et aucun élément périmé,
    trois fois de suite à ``INTERVALLE_CALME_MS`` d'intervalle ; puis le rendu des cartes. Délai large : sous la
    charge de la suite parallèle (deux cœurs), une page a dépassé 90 s une fois en CI (session 14)."""
    calmes = 0
    while calmes < 3:
        page.wait_for_function(CALME, timeout=delai_ms)
        page.wait_for_timeout(INTERVALLE_CALME_MS)
        calmes = calmes + 1 if page.evaluate(CALME) else 0
    for cadre in page.frames[1:]:
        try:
            cadre.wait_for_load_state("load", timeout=20_000)
        except Exception as exc:  # noqa: BLE001 - cadre détaché par une relance : rien à attendre
            _ignorer_cadre_detache(exc)
    cartes = page.locator("iframe[title*='streamlit_folium']")
    for rang in range(cartes.count()):
        page.frame_locator("iframe[title*='streamlit_folium']").nth(rang).locator(
            ".leaflet-control-scale").first.wait_for(state="attached", timeout=delai_ms)
    page.wait_for_timeout(INTERVALLE_CALME_MS)


def _ignorer_cadre_detache(exc: Exception) -> None:
    from playwright.sync_api import Error as ErreurPlaywright

    if not isinstance(exc, ErreurPlaywright):
        raise exc


TEXTE_HORS_FIGURES = """() => {
    const figures = Array.from(document.querySelectorAll('.js-plotly-plot'));
    const avant = figures.map(f => f.style.display);
    figures.forEach(f => { f.style.display = 'none'; });
    const texte = document.body.innerText;
    figures.forEach((f, i) => { f.style.display = avant[i]; });
    return texte;
}"""
GRADUATIONS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(f =>
    ['xtick', 'ytick'].map(c => Array.from(f.querySelectorAll('.' + c + ' text')).map(t => t.textContent)))"""


def lire_texte_visible(page) -> str:
    """Texte visible de la page (hors figures plotly, voir :func:`lire_graduations_annees`) et de ses cadres
    (cartes folium, composants)."""
    textes = [page.evaluate(TEXTE_HORS_FIGURES)]
    for cadre in page.frames[1:]:
        try:
            textes.append(cadre.locator("body").inner_text(timeout=5_000))
        except Exception as exc:  # noqa: BLE001 - cadre détaché ou vide
            _ignorer_cadre_detache(exc)
    return "\n".join(textes) + "\n" + "\n".join(lire_graduations_annees(page))


def _est_axe_des_annees(graduations: list[str]) -> bool:
    nombres = [re.sub(r"[\s\u00a0\u202f]", "", g) for g in graduations]
    if len(nombres) < 2 or not all(n.isdigit() for n in nombres):
        return False
    valeurs = [int(n) for n in nombres]
    ecarts = {b - a for a, b in zip(valeurs, valeurs[1:])}
    return all(1900 <= v <= 2100 for v in valeurs) and ecarts <= {1, 2, 5}


def lire_graduations_annees(page) -> list[str]:
    """Graduations des axes d'années des figures plotly (axe dont toutes les graduations sont des années qui se
    suivent) : le texte sur lequel chercher « 2 018 ». Les axes de valeurs (« 2 000 m² ») n'y sont pas."""
    return [g for axe in page.evaluate(GRADUATIONS) if _est_axe_des_annees(axe) for g in axe]


def creer_comptes(dossier: Path) -> None:
    """Crée les comptes de test du parcours dans le magasin du dossier (s'ils n'existent pas)."""
    from donnees.comptes import creer_compte
    from donnees.magasin import Magasin

    magasin = Magasin(f"sqlite:///{dossier / 'desimper.sqlite'}")
    try:
        existants = set(magasin.lire_utilisateurs()["email"])
        for role in ROLES:
            if role.email and role.email not in existants:
                creer_compte(magasin, role.email, role.nom_affiche, role.role, list(role.communes), MOT_DE_PASSE,
                             auteur="parcours")
    finally:
        magasin.fermer()


def ouvrir_session(navigateur, url: str, role: Role, largeur: int = LARGEUR_ORDINATEUR):
    """Contexte et page ouverts sur l'application, connectés sous ``role`` (public : sans connexion)."""
    contexte = navigateur.new_context(viewport={"width": largeur, "height": HAUTEUR}, locale="fr-FR",
                                      timezone_id="Europe/Paris", accept_downloads=True)
    page = contexte.new_page()
    if role.email:
        page.goto(url + "/connexion", wait_until="domcontentloaded")
        page.get_by_label("Adresse électronique").wait_for(timeout=90_000)
        page.get_by_label("Adresse électronique").fill(role.email)
        page.get_by_label("Mot de passe").fill(MOT_DE_PASSE)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_text(role.nom_affiche).first.wait_for(timeout=60_000)
    else:
        page.goto(url + "/", wait_until="domcontentloaded")
    page.locator("[data-testid='stSidebarNav']").wait_for(state="attached", timeout=90_000)
    attendre_calme(page)
    return contexte, page


def lister_pages(page) -> list[str]:
    """Libellés des liens de navigation de la barre latérale (les pages que le rôle voit)."""
    liens = page.locator("[data-testid='stSidebarNav'] a")
    # Texte du lien : nom de l'icône (police Material) puis libellé, sur des lignes distinctes.
    return [liens.nth(rang).inner_text().strip().splitlines()[-1].strip() for rang in range(liens.count())]


def aller_a(page, libelle: str) -> None:
    """Ouvre une page par son lien de la barre latérale (ouverte si besoin) et attend son rendu complet."""
    lien = page.locator("[data-testid='stSidebarNav'] a").filter(has=page.get_by_text(libelle, exact=True)).first
    if not lien.evaluate("e => { const r = e.getBoundingClientRect(); return r.right > 0 && r.left < innerWidth; }"):
        page.locator("[data-testid='stExpandSidebarButton']").click()  # téléphone : barre latérale repliée
        page.wait_for_timeout(600)
    lien.click()
    page.wait_for_timeout(300)  # la relance est demandée au clic (état « rerunRequested ») : attendre_calme la voit
    barre = page.locator("[data-testid='stSidebar']")
    if page.viewport_size["width"] < 600 and barre.get_attribute("data-collapsed") == "false":
        page.locator("[data-testid='stSidebarCollapseButton'] button").first.click()  # libère la page
        page.wait_for_timeout(400)
    attendre_calme(page)


def parcourir(navigateur, url: str, role: Role, visiter) -> list[str]:
    """Ouvre chaque page de la navigation du rôle et appelle ``visiter(page, libelle)`` ; renvoie les pages."""
    contexte, page = ouvrir_session(navigateur, url, role)
    try:
        libelles = [libelle for libelle in lister_pages(page) if libelle != "Connexion" or not role.email]
        for libelle in libelles:
            try:
                aller_a(page, libelle)
            except Exception:
                # Diagnostic d'un délai dépassé : la page où le parcours s'est arrêté, telle qu'elle était.
                sortie = Path(__file__).resolve().parents[1] / "sorties"
                sortie.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(sortie / f"parcours-echec-{nom_fichier(role, libelle, 1440)}"))
                raise
            visiter(page, libelle)
        return libelles
    finally:
        contexte.close()


def nom_fichier(role: Role, libelle: str, largeur: int) -> str:
    """Nom de capture : ``role-page-largeur.png`` en ASCII."""
    import unicodedata

    ascii_ = unicodedata.normalize("NFKD", libelle).encode("ascii", "ignore").decode()
    return f"{role.nom}-{re.sub(r'[^a-z0-9]+', '_', ascii_.lower()).strip('_')}-{largeur}.png"


HAUTEUR_MAX_CAPTURE = 12_000
MESURER_HAUTEUR = """() => Math.max(document.body.scrollHeight, ...Array.from(document.querySelectorAll(
    "[data-testid='stMain'], [data-testid='stAppViewContainer'], [data-testid='stMainBlockContainer']"
    + (innerWidth > 600 ? ", [data-testid='stSidebarContent']" : ""))).map(e => e.scrollHeight))"""


def capturer(page, dossier: Path, role: Role, libelle: str) -> list[Path]:
    """Captures pleine page de la page courante à 1440 puis 390 px de large (retour à 1440 ensuite).

    Streamlit fait défiler son contenu dans un conteneur : la fenêtre est agrandie à la hauteur du contenu
    le temps de la capture.
    """
    dossier.mkdir(parents=True, exist_ok=True)
    chemins = []
    for largeur in (LARGEUR_ORDINATEUR, LARGEUR_TELEPHONE):
        page.set_viewport_size({"width": largeur, "height": HAUTEUR if largeur > 600 else 844})
        page.wait_for_timeout(1_000)
        attendre_calme(page)
        hauteur = min(int(page.evaluate(MESURER_HAUTEUR)), HAUTEUR_MAX_CAPTURE)
        page.set_viewport_size({"width": largeur, "height": max(hauteur, 844)})
        page.wait_for_timeout(800)
        chemin = dossier / nom_fichier(role, libelle, largeur)
        page.screenshot(path=str(chemin), full_page=True)
        chemins.append(chemin)
    page.set_viewport_size({"width": LARGEUR_ORDINATEUR, "height": HAUTEUR})
    page.wait_for_timeout(600)
    return chemins
