"""Cartes de l'agenda (issue 16, partie 3) : lieux des événements et choix d'un point, construites avec les
briques de :mod:`vues.cartes` (fond, Leaflet local, contours des communes). Les textes des membres (titre, lieu)
sont échappés dans les info-bulles et les fenêtres."""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd

from donnees.geometrie import en_wgs84
from vues.cartes import alleger_geometries, creer_carte_vide, lire_styles

COULEURS_AGENDA = {"prevu": "#1565c0", "annule": "#9e9e9e", "partage": "#6a1b9a"}


def _contours(carte: folium.Map, communes: gpd.GeoDataFrame) -> None:
    style = lire_styles()["commune"]
    folium.GeoJson(alleger_geometries(communes[["code_insee", "geometry"]]).to_json(drop_id=True), name="Communes",
                   style_function=lambda _: {"color": style["contour"], "weight": 1, "fill": False,
                                             "className": "desimper-commune"}, interactive=False).add_to(carte)


def construire_carte_agenda(communes: gpd.GeoDataFrame, evenements: pd.DataFrame, hauteur: str = "100%"
                            ) -> folium.Map:
    """Lieux des événements qui ont un point (colonnes ``id``, ``titre``, ``horaire``, ``lieu``, ``statut``,
    ``territoire``, ``longitude``, ``latitude``) sur les contours des communes ; texte échappé."""
    carte = creer_carte_vide(tuple(en_wgs84(communes).total_bounds), hauteur)
    _contours(carte, communes)
    places = evenements.dropna(subset=["longitude", "latitude"]) if len(evenements) else evenements
    for ligne in places.itertuples(index=False):
        partage = isinstance(ligne.territoire, str) and bool(ligne.territoire)
        couleur = COULEURS_AGENDA["annule" if ligne.statut == "annule" else "partage" if partage else "prevu"]
        texte = "<br>".join(html.escape(str(v)) for v in (
            ligne.titre, ligne.horaire, ligne.lieu if isinstance(ligne.lieu, str) else "",
            ("Annulé" if ligne.statut == "annule" else ""), (f"Territoire {ligne.territoire}" if partage else ""))
            if v)
        folium.CircleMarker([float(ligne.latitude), float(ligne.longitude)], radius=9, color=couleur, weight=2,
                            fill=True, fill_color=couleur, fill_opacity=0.7,
                            tooltip=folium.Tooltip(texte, style="max-width: min(320px, 80vw); white-space: normal;"),
                            popup=folium.Popup(texte, max_width=320)).add_to(carte)
    return carte


def construire_carte_choix_point(communes: gpd.GeoDataFrame, point: tuple[float, float] | None = None,
                                 hauteur: str = "100%") -> folium.Map:
    """Carte où cliquer le lieu d'un événement : contours des communes, point déjà choisi marqué."""
    carte = creer_carte_vide(tuple(en_wgs84(communes).total_bounds), hauteur)
    _contours(carte, communes)
    if point is not None:
        folium.Marker([point[1], point[0]], tooltip="Lieu choisi").add_to(carte)
    return carte


__all__ = ["COULEURS_AGENDA", "construire_carte_agenda", "construire_carte_choix_point"]
