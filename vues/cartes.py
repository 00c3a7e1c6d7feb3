"""Cartes folium du bassin : communes, opérations colorées par type, légende.

Géométries légères : communes simplifiées (couche ``communes_affichage``), opérations réduites à un point
représentatif, coordonnées arrondies à 1e-5° (≈ 1 m), seules les propriétés utiles sont envoyées. Tout
texte saisi par un utilisateur est échappé avant d'entrer dans le HTML de la carte.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from donnees.nomenclatures import STATUTS, lire_types_site
from vues.actifs import utiliser_actifs_locaux

PRECISION_DEGRES = 1e-5
ATTRIBUTION_OSM = ('&copy; <a href="https://www.openstreetmap.org/copyright">contributeurs '
                   'OpenStreetMap</a>')
URL_TUILES_OSM = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


@lru_cache(maxsize=1)
def lire_styles() -> dict:
    """Couleurs des cartes (``vues/styles.json``)."""
    return json.loads(Path(__file__).with_name("styles.json").read_text(encoding="utf-8"))


def alleger_geometries(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Copie en WGS84 aux coordonnées arrondies à 1e-5° (≈ 1 m), pour l'envoi au navigateur."""
    table = table.to_crs(4326) if table.crs is not None and not table.crs.equals(4326) else table.copy()
    table["geometry"] = shapely.set_precision(table.geometry.values, PRECISION_DEGRES)
    return table


def creer_carte_vide(emprise: tuple[float, float, float, float], hauteur: str = "100%") -> folium.Map:
    """Carte centrée sur l'emprise (lon min, lat min, lon max, lat max), fond OSM et fond uni hors ligne."""
    utiliser_actifs_locaux()
    styles = lire_styles()
    xmin, ymin, xmax, ymax = emprise
    carte = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], zoom_start=11, tiles=None,
                       control_scale=True, height=hauteur, prefer_canvas=False,
                       zoom_snap=0.25, zoom_delta=0.5)
    folium.TileLayer(URL_TUILES_OSM, attr=ATTRIBUTION_OSM, name="Plan OpenStreetMap",
                     max_zoom=19).add_to(carte)
    carte.get_root().header.add_child(Element(
        f"<style>.leaflet-container {{ background: {styles['fond_carte']}; }}</style>"))
    carte.fit_bounds([[ymin, xmin], [ymax, xmax]])
    return carte


def ajouter_communes(carte: folium.Map, communes: gpd.GeoDataFrame,
                     operations_par_commune: pd.Series | None = None) -> folium.GeoJson:
    """Ajoute les contours des communes (classe SVG ``desimper-commune``) avec une info-bulle."""
    style = lire_styles()["commune"]
    table = alleger_geometries(communes[["code_insee", "nom", "geometry"]])
    comptes = operations_par_commune if operations_par_commune is not None else pd.Series(dtype="int64")
    table["nom"] = table["nom"].map(html.escape)
    table["operations"] = table["code_insee"].map(comptes).fillna(0).astype(int)
    couche = folium.GeoJson(
        table.to_json(drop_id=True),
        name="Communes",
        style_function=lambda _: {"color": style["contour"], "weight": style["epaisseur"],
                                  "fillColor": style["remplissage"], "fillOpacity": style["opacite"],
                                  "className": "desimper-commune"},
        highlight_function=lambda _: {"weight": style["epaisseur"] * 2.5, "fillOpacity": 0.55},
        tooltip=folium.GeoJsonTooltip(["nom", "code_insee", "operations"],
                                      aliases=["Commune", "Code INSEE", "Opérations"]),
    )
    couche.add_to(carte)
    return couche


def ajouter_operations(carte: folium.Map, operations: gpd.GeoDataFrame) -> folium.GeoJson | None:
    """Ajoute les opérations en points colorés par type de site (classe SVG ``desimper-operation``)."""
    if operations is None or operations.empty:
        return None
    couleurs = lire_styles()["types_site"]
    types = lire_types_site()
    table = gpd.GeoDataFrame(
        {
            "nom": operations["nom"].astype(str).map(html.escape).to_numpy(),
            "type": operations["type_site"].map(types).fillna("Autre").to_numpy(),
            "type_site": operations["type_site"].to_numpy(),
            "statut": operations["statut"].map(STATUTS).fillna("").to_numpy(),
        },
        geometry=operations.geometry.to_crs(4326).representative_point().to_numpy(),
        crs=4326,
    )
    table = alleger_geometries(table)
    couche = folium.GeoJson(
        table.to_json(drop_id=True),
        name="Opérations",
        marker=folium.CircleMarker(radius=5, weight=1, fill_opacity=0.9),
        style_function=lambda f: {"color": "#ffffff", "fill": True, "fillColor": couleurs.get(
            f["properties"]["type_site"], "#444444"), "className": "desimper-operation"},
        tooltip=folium.GeoJsonTooltip(["nom", "type", "statut"], aliases=["Opération", "Type", "Statut"]),
    )
    couche.add_to(carte)
    return couche


class Legende(MacroElement):
    """Légende HTML fixe (coin bas droit) : titre et pastilles colorées, textes échappés."""

    _template = Template("""
        {% macro html(this, kwargs) %}
        <div class="desimper-legende" style="position:absolute; bottom:24px; right:10px; z-index:1000;
             background:rgba(255,255,255,0.92); padding:8px 10px; border-radius:6px;
             box-shadow:0 1px 4px rgba(0,0,0,0.3); font:13px/1.35 sans-serif; color:#222;">
          <div style="font-weight:600; margin-bottom:4px;">{{ this.titre }}</div>
          {% for libelle, couleur in this.entrees %}
          <div><span style="display:inline-block; width:11px; height:11px; border-radius:50%;
               background:{{ couleur }}; margin-right:6px; border:1px solid #fff;"></span>{{ libelle }}</div>
          {% endfor %}
        </div>
        {% endmacro %}
    """)

    def __init__(self, titre: str, entrees: list[tuple[str, str]]):
        super().__init__()
        self._name = "Legende"
        self.titre = html.escape(titre)
        self.entrees = [(html.escape(libelle), couleur) for libelle, couleur in entrees]


def construire_carte_bassin(communes: gpd.GeoDataFrame, operations: gpd.GeoDataFrame,
                            hauteur: str = "100%") -> folium.Map:
    """Carte du bassin : communes, opérations colorées par type de site et légende des types."""
    emprise = tuple(communes.to_crs(4326).total_bounds)
    carte = creer_carte_vide(emprise, hauteur)
    comptes = operations.groupby("code_insee").size() if len(operations) else None
    ajouter_communes(carte, communes, comptes)
    ajouter_operations(carte, operations)
    couleurs = lire_styles()["types_site"]
    presents = set(operations["type_site"]) if len(operations) else set()
    entrees = [(libelle, couleurs[code]) for code, libelle in lire_types_site().items() if code in presents]
    if entrees:
        Legende("Type de site", entrees).add_to(carte)
    return carte
