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

import branca
import folium
import folium.elements
import streamlit as st
import streamlit_folium

from vues.figures import habiller_figure

# Une carte préparée pèse 0,1 à 2 Mo : 48 cartes au plus (≈ 40 Mo) pour tout le processus.
NOMBRE_CARTES_EN_CACHE = 48
NOMBRE_FIGURES_EN_CACHE = 256


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


def afficher_carte(cle: tuple, construire, key: str, height: int, returned_objects: list[str]):
    """Carte folium affichée comme ``st_folium(carte, height=…, use_container_width=True, key=…,
    returned_objects=…)``, mais construite et rendue une fois par ``cle`` pour tout le processus.

    ``cle`` : petites valeurs dont la carte dépend entièrement (droits de lecture compris) ;
    ``construire`` : fonction sans argument qui renvoie la ``folium.Map`` (appelée seulement si la clé est
    nouvelle). Renvoie la valeur du composant (dernier objet cliqué…), comme ``st_folium``.
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
        feature_group=None, return_on_hover=False, layer_control=None, pixelated=False,
        css_links=arguments["css_links"], js_links=arguments["js_links"], on_change=_au_changement,
        wrap_longitude=False)


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
