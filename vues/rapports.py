"""Rapports PDF (issue 15, partie 3) : contenu → HTML (gabarit Jinja2 ``rapport.html.j2``) → PDF (WeasyPrint).

Les graphiques sont ceux de l'application (:mod:`vues.figures`), rendus en SVG par Kaleido (Chromium du
système) ; la carte est tracée ici en SVG, en Lambert-93, avec les classes et la palette des cartes de
l'application (:func:`vues.cartes.calculer_classes`). Tout texte saisi est échappé (gabarit en
``autoescape``, textes SVG échappés).
"""

from __future__ import annotations

import atexit
import base64
import html
import logging
import math
import threading
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely

from donnees.geometrie import en_lambert93
from vues.cartes import Choroplethe, calculer_classes, colorer_valeurs, decrire_classes, lire_styles
from vues.fiches import DOSSIER_GABARITS
from vues.format import formater_nombre

journal = logging.getLogger(__name__)

LARGEUR_FIGURE_PX = 760  # largeur utile d'une page A4 (marges de 16 mm) à 96 px/pouce, environ
GRAPHIQUE_INDISPONIBLE = ("Graphique indisponible : Chromium (utilisé pour rendre les graphiques) est introuvable "
                          "ou n'a pas répondu. Installez le paquet « chromium » puis regénérez le rapport.")


@dataclass
class Section:
    """Section d'un rapport : ``titre``, paragraphes ``textes``, puis (facultatifs) cartes de ``chiffres``
    (libellé, valeur, précision), ``image`` (data URI SVG) et sa ``legende``, ``tableau`` (DataFrame déjà mis en
    forme, textes), ``retours`` (titre, texte) et ``note`` (petite ligne de périmètre ou de source)."""

    titre: str
    textes: list[str] = field(default_factory=list)
    chiffres: list[tuple[str, str, str | None]] = field(default_factory=list)
    image: str | None = None
    legende: str | None = None
    tableau: pd.DataFrame | None = None
    retours: list[tuple[str, str]] = field(default_factory=list)
    note: str | None = None
    saut_de_page: bool = False
    entrees_legende: list[tuple[str, str]] = field(default_factory=list)
    colonnes_nombres: list[str] = field(default_factory=list)


@dataclass
class ContenuRapport:
    """Tout ce que le gabarit affiche : couverture (titre, sous-titre, lignes « libellé : valeur »),
    sections, sources (attributions et licences) et avertissement (démonstration, version publique)."""

    titre: str
    sous_titre: str
    territoire: str
    couverture: list[tuple[str, str]]
    sections: list[Section]
    sources: list[str]
    avertissements: list[str] = field(default_factory=list)
    public: bool = True


# ------------------------------------------------------------------------------------ figures (Kaleido)

_VERROU_KALEIDO = threading.Lock()
_SERVEUR_KALEIDO: dict[str, bool] = {}


def _demarrer_kaleido() -> bool:
    """Démarre une fois par processus le serveur Kaleido (un Chromium gardé ouvert : 0,2 s par figure au lieu de
    3 s) ; faux s'il ne démarre pas (les figures sont alors rendues une à une, ou pas du tout)."""
    if "demarre" not in _SERVEUR_KALEIDO:
        try:
            import kaleido

            kaleido.start_sync_server(silence_warnings=True)
            atexit.register(_arreter_kaleido)
            _SERVEUR_KALEIDO["demarre"] = True
        except Exception as exc:  # Chromium absent, bac à sable refusé… : journalisé, le rapport se fait quand même
            journal.warning("Serveur Kaleido non démarré : %s", exc)
            _SERVEUR_KALEIDO["demarre"] = False
    return _SERVEUR_KALEIDO["demarre"]


def _arreter_kaleido() -> None:
    try:
        import kaleido

        kaleido.stop_sync_server(silence_warnings=True)
    except Exception:  # arrêt du processus : rien à signaler
        pass


def figure_en_svg(figure, largeur: int = LARGEUR_FIGURE_PX, hauteur: int | None = None) -> str | None:
    """Figure plotly de l'application → data URI SVG (vectoriel : net à l'impression, quelques dizaines de ko) ;
    ``None`` si Chromium manque (le gabarit affiche alors :data:`GRAPHIQUE_INDISPONIBLE`)."""
    import plotly.io as pio

    hauteur = int(hauteur or figure.layout.height or 420)
    figure.update_layout(width=largeur, height=hauteur, hovermode=False)
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)  # titre d'axe entier (la marge de 10 px des pages le coupe)
    with _VERROU_KALEIDO, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # « kopts ignoré avec un serveur » : sans objet ici
        _demarrer_kaleido()
        try:
            image = pio.to_image(figure, format="svg", width=largeur, height=hauteur)
        except Exception as exc:
            journal.warning("Figure non rendue en SVG : %s", exc)
            return None
    return "data:image/svg+xml;base64," + base64.b64encode(image).decode("ascii")


# ------------------------------------------------------------------------------------ carte (SVG)


def _chemin_svg(geometrie, vers_pixels) -> str:
    """Chemin SVG (« M x y L … Z ») d'un polygone ou multipolygone ; trous compris (règle evenodd)."""
    morceaux = []
    for polygone in getattr(geometrie, "geoms", [geometrie]):
        if polygone.is_empty or polygone.geom_type != "Polygon":
            continue
        for anneau in (polygone.exterior, *polygone.interiors):
            points = vers_pixels(np.asarray(anneau.coords)[:, :2])
            morceaux.append("M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in points) + " Z")
    return " ".join(morceaux)


def _longueur_echelle(metres_visibles: float) -> float:
    """Longueur ronde (1, 2 ou 5 × 10ⁿ m) proche du cinquième de la largeur montrée."""
    cible = metres_visibles / 5
    puissance = 10 ** math.floor(math.log10(max(cible, 1.0)))
    return max(m * puissance for m in (1, 2, 5) if m * puissance <= cible) if cible >= 1 else 1.0


def construire_carte_svg(communes: gpd.GeoDataFrame, choroplethe: Choroplethe | None,
                         zones: gpd.GeoDataFrame | None = None, points: gpd.GeoDataFrame | None = None,
                         communes_en_avant: list[str] | None = None,
                         largeur: int = LARGEUR_FIGURE_PX, hauteur: int = 600) -> tuple[str, list[tuple[str, str]]]:
    """Carte statique : communes colorées par l'indicateur de ``choroplethe`` (classes et palette des cartes de
    l'application), ``zones`` d'opérations (colonne ``couleur``) et ``points`` (colonne ``couleur``) par-dessus,
    échelle et nord (l'attribution va dans la légende). ``communes_en_avant`` : codes INSEE dont la vue est
    cadrée (les autres restent en fond). Renvoie (data URI SVG, entrées de légende (texte, couleur))."""
    styles = lire_styles()
    communes = en_lambert93(communes).reset_index(drop=True)
    cadre = communes[communes["code_insee"].isin(communes_en_avant)] if communes_en_avant else communes
    xmin, ymin, xmax, ymax = cadre.total_bounds
    marge = 0.04 * max(xmax - xmin, ymax - ymin, 1.0)
    xmin, ymin, xmax, ymax = xmin - marge, ymin - marge, xmax + marge, ymax + marge
    haut_utile = hauteur - 28  # bande du bas : échelle et attribution
    echelle = min(largeur / (xmax - xmin), haut_utile / (ymax - ymin))
    dx = (largeur - echelle * (xmax - xmin)) / 2
    dy = (haut_utile - echelle * (ymax - ymin)) / 2

    def vers_pixels(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([dx + (xy[:, 0] - xmin) * echelle, dy + (ymax - xy[:, 1]) * echelle])

    legende: list[tuple[str, str]] = []
    if choroplethe is not None:
        valeurs = choroplethe.valeurs.reindex(communes["code_insee"].astype(str))
        bornes = calculer_classes(choroplethe.valeurs, len(styles["choroplethe"]))
        couleurs = colorer_valeurs(valeurs, bornes, styles["choroplethe"], styles["sans_donnee"]).to_numpy()
        legende = decrire_classes(bornes, styles["choroplethe"], choroplethe)
    else:
        couleurs = np.full(len(communes), styles["commune"]["remplissage"])
    elements = [f'<rect width="{largeur}" height="{hauteur}" fill="#ffffff"/>',
                f'<rect width="{largeur}" height="{haut_utile}" fill="{styles["fond_carte"]}"/>']
    fenetre = shapely.box(xmin, ymin, xmax, ymax)
    for geometrie, couleur in zip(communes.geometry, couleurs):
        if geometrie is None or not geometrie.intersects(fenetre):
            continue
        elements.append(f'<path d="{_chemin_svg(geometrie, vers_pixels)}" fill="{couleur}" fill-rule="evenodd" '
                        f'stroke="{styles["commune"]["contour"]}" stroke-width="0.8"/>')
    if zones is not None and len(zones):
        zones = en_lambert93(zones)
        for geometrie, couleur in zip(zones.geometry, zones["couleur"]):
            chemin = _chemin_svg(geometrie, vers_pixels) if geometrie is not None else ""
            if chemin:
                elements.append(f'<path d="{chemin}" fill="{couleur}" fill-opacity="0.85" fill-rule="evenodd" '
                                'stroke="#1d2b24" stroke-width="0.6"/>')
    if points is not None and len(points):
        points = en_lambert93(points)
        xy = vers_pixels(np.column_stack([points.geometry.x, points.geometry.y]))
        for (x, y), couleur in zip(xy, points["couleur"]):
            elements.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.2" fill="{couleur}" stroke="#1d2b24" '
                            'stroke-width="0.6"/>')
    # Échelle (Lambert-93 : mètres) et nord.
    metres = _longueur_echelle((largeur / echelle))
    pixels = metres * echelle
    texte_echelle = formater_nombre(metres / 1000, 0 if metres >= 1000 else 1, "km") if metres >= 100 else \
        formater_nombre(metres, 0, "m")
    y0 = haut_utile + 16
    elements.append(f'<path d="M10 {y0} L{10 + pixels:.1f} {y0}" stroke="#1d2b24" stroke-width="2.5"/>')
    elements.append(f'<text x="{14 + pixels:.1f}" y="{y0 + 4}" font-size="11" font-family="DejaVu Sans" '
                    f'fill="#1d2b24">{html.escape(texte_echelle)}</text>')
    elements.append(f'<g transform="translate({largeur - 24},14)"><path d="M0 18 L7 0 L14 18 L7 13 Z" '
                    'fill="#1d2b24"/><text x="7" y="30" font-size="11" text-anchor="middle" '
                    'font-family="DejaVu Sans" fill="#1d2b24">N</text></g>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{largeur}" height="{hauteur}" '
           f'viewBox="0 0 {largeur} {hauteur}">' + "".join(elements) + "</svg>")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii"), legende


# ------------------------------------------------------------------------------------ HTML et PDF


@lru_cache(maxsize=1)
def _environnement() -> jinja2.Environment:
    environnement = jinja2.Environment(loader=jinja2.FileSystemLoader(DOSSIER_GABARITS),
                                       autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                                       undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environnement.globals["zip"] = zip
    return environnement


def rendre_rapport_html(contenu: ContenuRapport) -> str:
    """HTML complet du rapport (gabarit ``rapport.html.j2``), textes saisis échappés."""
    return _environnement().get_template("rapport.html.j2").render(rapport=contenu,
                                                                 indisponible=GRAPHIQUE_INDISPONIBLE)


def convertir_pdf(document_html: str) -> bytes:
    """PDF (WeasyPrint) d'un HTML autonome (images en data URI : aucune ressource externe n'est lue)."""
    import weasyprint

    from weasyprint.urls import URLFetcher

    # Seules les images en data URI sont lues : un texte saisi ne peut pas faire charger une ressource.
    lecteur = URLFetcher(allowed_protocols={"data"}, fail_on_errors=False)
    return weasyprint.HTML(string=document_html, url_fetcher=lecteur).write_pdf()


def produire_pdf(contenu: ContenuRapport) -> bytes:
    """Rapport PDF du contenu."""
    return convertir_pdf(rendre_rapport_html(contenu))
