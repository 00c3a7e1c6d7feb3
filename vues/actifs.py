"""Ressources JS/CSS des cartes servies localement (cartes utilisables hors ligne).

``make`` installe les bibliothèques avec npm dans ``static/node_modules`` ; Streamlit les sert sous
``/app/static/`` (``server.enableStaticServing``). :func:`utiliser_actifs_locaux` fait pointer folium et
ses extensions vers ces copies. Sans npm, les cartes restent sur les CDN et un avertissement est émis
une seule fois.
"""

from __future__ import annotations

import inspect
import json
import logging
from functools import lru_cache
from pathlib import Path

import folium
import folium.elements
import folium.plugins  # noqa: F401  (enregistre les extensions à réorienter)

DOSSIER_STATIC = Path(__file__).resolve().parent.parent / "static"
PREFIXE_URL = "/app/static/"
MESSAGE_CDN = ("Bibliothèques cartographiques locales absentes (npm indisponible ou `make` non lancé) : "
               "les cartes utilisent les CDN et ne s'afficheront pas hors ligne.")

journal = logging.getLogger(__name__)


def lire_correspondance_actifs() -> dict[str, str | None]:
    """Correspondance ressource folium → chemin sous ``static/`` (``None`` : ressource retirée)."""
    table = json.loads((Path(__file__).with_name("actifs.json")).read_text(encoding="utf-8"))
    return {cle: valeur for cle, valeur in table.items() if not cle.startswith("_")}


def _classes_folium() -> list[type]:
    """Toutes les classes folium qui déclarent des ressources JS/CSS."""
    classes, a_voir = [], [folium.elements.JSCSSMixin]
    while a_voir:
        classe = a_voir.pop()
        classes.append(classe)
        a_voir.extend(classe.__subclasses__())
    return [c for c in classes if inspect.isclass(c)]


def _reorienter(ressources: list[tuple[str, str]], correspondance: dict, dossier: Path) -> list:
    nouvelles = []
    for nom, url in ressources:
        if nom not in correspondance:
            nouvelles.append((nom, url))
        elif correspondance[nom] is not None and (dossier / correspondance[nom]).exists():
            nouvelles.append((nom, PREFIXE_URL + correspondance[nom]))
    return nouvelles


@lru_cache(maxsize=1)
def utiliser_actifs_locaux(dossier: Path = DOSSIER_STATIC) -> bool:
    """Fait pointer folium vers les copies locales. Renvoie ``False`` (et avertit une fois) sinon."""
    correspondance = lire_correspondance_actifs()
    presents = all((dossier / chemin).exists() for chemin in correspondance.values() if chemin)
    if not presents:
        journal.warning(MESSAGE_CDN)
        return False
    for classe in _classes_folium():
        for attribut in ("default_js", "default_css"):
            ressources = classe.__dict__.get(attribut)
            if ressources:
                setattr(classe, attribut, _reorienter(list(ressources), correspondance, dossier))
    return True


def lister_ressources_distantes(carte: folium.Map) -> list[str]:
    """Adresses externes (http) encore chargées par une carte : vide quand tout est local."""
    html = carte.get_root().render()
    return sorted({morceau.split('"')[0] for morceau in html.split('src="')[1:] + html.split('href="')[1:]
                   if morceau.startswith("http")})
