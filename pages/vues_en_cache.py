"""Cartes folium et figures plotly identiques d'une session à l'autre : construites une fois par processus.

Une vue de page coûtait surtout la construction des cartes folium (GeoJSON, styles par entité) et leur rendu
HTML/JS par ``st_folium``, puis la construction et la validation des figures plotly. Ici :

- une carte est préparée (arguments du composant st_folium : script Leaflet, en-tête, HTML, liens) une fois
  par **clé de petites valeurs** (page, révision du magasin, droits de lecture, filtres, signatures des
  couches, choix de l'utilisateur), jamais un GeoDataFrame ; le composant garde une clé stable tant que la
  carte ne change pas : le navigateur ne la reconstruit pas ;
- une figure est construite une fois par contenu (nom du constructeur et arguments : petites tables
  d'indicateurs déjà filtrées selon les droits, textes, nombres), habillée en français, puis partagée en
  lecture seule.

Droits : une clé de carte inclut toujours ce qui rend la donnée visible (``commun.revision_lecture`` : rôle et
communes), jamais l'objet utilisateur ; une figure est keyée par son contenu même, déjà filtré.
"""

from __future__ import annotations

import functools
import threading

import branca
import folium
import folium.elements
import streamlit as st
import streamlit_folium

from vues.cartes import (
    SelectionCarte,
    arrondir_vue,
    construire_couche_operations,
    lire_vue,
    selectionner_operations,
)
from vues.figures import habiller_figure

# Une carte préparée pèse 0,1 à 2 Mo : 48 cartes au plus (≈ 40 Mo) pour tout le processus.
NOMBRE_CARTES_EN_CACHE = 48
NOMBRE_FIGURES_EN_CACHE = 256
# Une couche d'opérations pèse 0,6 Mo au plus (plafond de vues/cartes_bornees.json) : 64 couches ≈ 40 Mo.
NOMBRE_COUCHES_EN_CACHE = 64
_VERROU_SUPPORT = threading.Lock()


def _liens_ressources(carte: folium.Map) -> tuple[list[str], list[str]]:
    """Feuilles de style et scripts que la carte déclare (même parcours que ``st_folium``)."""
    css, js = [], []
    pile = [carte]
    while pile:
        element = pile.pop(0)
        if isinstance(element, branca.colormap.ColorMap):
            js[:0] = ["https://d3js.org/d3.v4.min.js", "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"]
        if isinstance(element, (branca.colormap.ColorMap, folium.elements.JSCSSMixin)):
            css.extend(href for _, href in getattr(element, "default_css", []))
            js.extend(src for _, src in getattr(element, "default_js", []))
        pile[:0] = list(getattr(element, "_children", {}).values())
    return list(dict.fromkeys(css)), list(dict.fromkeys(js))


def preparer_carte(carte: folium.Map) -> dict:
    """Arguments du composant ``st_folium`` pour cette carte (rendu HTML/JS fait une fois) : ``script``,
    ``header``, ``html``, ``id``, ``bounds``, ``zoom``, ``css_links``, ``js_links``."""
    carte.get_root().render()
    carte.render()
    html = streamlit_folium._get_html(carte)
    entete = streamlit_folium._get_header(carte)
    script = streamlit_folium._get_map_string(carte)
    (sud, ouest), (nord, est) = carte.get_bounds()
    css, js = _liens_ressources(carte)
    return {"script": script, "header": entete, "html": html, "id": streamlit_folium.get_full_id(carte),
            "bounds": {"_southWest": {"lat": sud, "lng": ouest}, "_northEast": {"lat": nord, "lng": est}},
            "zoom": carte.options.get("zoom"), "css_links": css, "js_links": js}


@st.cache_resource(show_spinner=False, max_entries=NOMBRE_CARTES_EN_CACHE)
def _carte_preparee(cle: tuple, key: str, _construire) -> dict:
    arguments = preparer_carte(_construire())
    arguments["cle_composant"] = streamlit_folium.generate_js_hash(arguments["script"], key, False)
    return arguments


def afficher_carte(cle: tuple, construire, key: str, height: int, returned_objects: list[str],
                   couche: str | None = None):
    """Carte folium affichée comme ``st_folium(carte, height=…, use_container_width=True, key=…,
    returned_objects=…)``, mais construite et rendue une fois par ``cle`` pour tout le processus.

    ``cle`` : petites valeurs dont la carte dépend entièrement (droits de lecture compris) ;
    ``construire`` : fonction sans argument qui renvoie la ``folium.Map`` (appelée seulement si la clé est
    nouvelle) ; ``couche`` : script d'une couche remplaçable sans recréer la carte (:func:`preparer_couche`).
    Renvoie la valeur du composant (dernier objet cliqué…), comme ``st_folium``.
    """
    arguments = _carte_preparee(cle, key, construire)
    defauts = {"last_clicked": None, "last_object_clicked": None, "last_object_clicked_count": None,
               "last_object_clicked_tooltip": None, "last_object_clicked_popup": None, "all_drawings": None,
               "last_active_drawing": None, "bounds": arguments["bounds"], "zoom": arguments["zoom"],
               "last_circle_radius": None, "last_circle_polygon": None, "selected_layers": None,
               "selected_tags": None, "last_geocoder_result": None}
    cle_composant = arguments["cle_composant"]

    def _au_changement():
        st.session_state[key] = st.session_state.get(cle_composant, {})

    return streamlit_folium._component_func(
        script=arguments["script"], header=arguments["header"], html=arguments["html"], id=arguments["id"],
        key=cle_composant, height=height, width=None, returned_objects=returned_objects,
        default={k: v for k, v in defauts.items() if k in returned_objects}, zoom=None, center=None,
        feature_group=couche, return_on_hover=False, layer_control=None, pixelated=False,
        css_links=arguments["css_links"], js_links=arguments["js_links"], on_change=_au_changement,
        wrap_longitude=False)


def lire_valeur_carte(cle: tuple, construire, key: str) -> dict | None:
    """Dernière valeur renvoyée par la carte de ``cle`` (vue, clic), lue avant de l'afficher : la couche des
    opérations se choisit d'après la vue. None tant que le navigateur n'a rien renvoyé."""
    return st.session_state.get(_carte_preparee(cle, key, construire)["cle_composant"])


def preparer_couche(groupe: folium.FeatureGroup) -> str:
    """Script d'une couche (``FeatureGroup``) que le composant remplace sans recréer la carte (argument
    ``feature_group`` de ``st_folium``, même rendu que ``feature_group_to_add``)."""
    support = _carte_support()
    with _VERROU_SUPPORT:  # sessions en fils parallèles : une couche à la fois sur la carte de support
        try:
            return streamlit_folium._get_feature_group_string(groupe, support)
        finally:
            support._children.pop(groupe.get_name(), None)  # la carte de support ne garde rien


@functools.lru_cache(maxsize=1)
def _carte_support() -> folium.Map:
    """Carte vide sur laquelle une couche est rendue (son nom y est remplacé par celui de la carte affichée)."""
    return folium.Map(tiles=None)


@st.cache_resource(show_spinner=False, max_entries=NOMBRE_COUCHES_EN_CACHE)
def _couche_preparee(cle: tuple, _construire) -> str:
    return preparer_couche(_construire())


def obtenir_couche(cle: tuple, construire) -> str:
    """Script de la couche ``construire()`` rendu une fois par ``cle`` (petites valeurs : données, droits, filtres,
    vue arrondie) pour tout le processus."""
    return _couche_preparee(cle, construire)


def afficher_carte_bornee(cle: tuple, construire_fond, charger_points, agregats, couleur_par: str, key: str,
                          height: int,
                          returned_objects: list[str]) -> tuple[dict | None, SelectionCarte]:
    """Carte du bassin qui ne grossit pas avec le registre : le fond (``construire_fond()``, sans opérations) est
    rendu une fois par ``cle`` ; la couche des opérations suit la vue que le navigateur renvoie (``bounds``,
    ``zoom``) : cercles par commune sous le zoom des opérations, opérations de l'emprise (arrondie à une grille,
    plafonnée) au-delà, rendue une fois par (``cle``, ``couleur_par``, vue arrondie) et remplacée sans recréer la
    carte. ``charger_points`` : fonction qui renvoie la table des opérations visibles
    (``commun.charger_points_operations``), appelée seulement au zoom des opérations (le premier affichage, à
    faible zoom, ne lit aucune opération une à une) ; ``agregats`` : fonction qui renvoie les cercles par commune.
    Renvoie (valeur du composant, sélection envoyée)."""
    vue = arrondir_vue(lire_vue(lire_valeur_carte(cle, construire_fond, key)))
    selection = selectionner_operations(charger_points() if vue is not None else None, vue)
    couche = obtenir_couche(
        (cle, couleur_par, vue), lambda: construire_couche_operations(
            selection, agregats() if selection.mode == "agregats" else None, couleur_par))
    objets = list(dict.fromkeys([*returned_objects, "bounds", "zoom"]))
    return afficher_carte(cle, construire_fond, key, height, objets, couche=couche), selection


@st.cache_resource(show_spinner=False, max_entries=NOMBRE_FIGURES_EN_CACHE)
def _figure(nom: str, arguments: tuple, options: dict, _construire):
    figure = habiller_figure(_construire(*arguments, **options))
    figure._habillee = True  # partagée entre sessions : plus jamais modifiée (voir commun.afficher_graphique)
    return figure


def construire_figure(constructeur, *arguments, **options):
    """Figure ``constructeur(*arguments, **options)`` habillée en français, construite une fois par contenu
    (petites tables et valeurs, hachées par Streamlit) et partagée entre sessions : ne pas la modifier."""
    return _figure(f"{constructeur.__module__}.{constructeur.__qualname__}", arguments, options, constructeur)


def est_partagee(figure) -> bool:
    """Vrai si la figure vient de :func:`construire_figure` (déjà habillée, à ne pas modifier)."""
    return getattr(figure, "_habillee", False)
