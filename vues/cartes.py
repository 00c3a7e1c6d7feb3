"""Cartes folium du bassin : communes, opérations colorées par type, légende.

Géométries légères : communes simplifiées (couche ``communes_affichage``), opérations réduites à un point
représentatif, coordonnées arrondies à 1e-5° (≈ 1 m), seules les propriétés utiles sont envoyées. Tout
texte saisi par un utilisateur est échappé avant d'entrer dans le HTML de la carte.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template

from donnees.geometrie import en_lambert93, en_wgs84
from donnees.nomenclatures import STATUTS, lire_types_site
from vues.actifs import utiliser_actifs_locaux
from vues.format import formater_nombre

PRECISION_DEGRES = 1e-5


@lru_cache(maxsize=1)
def lire_styles() -> dict:
    """Couleurs des cartes (``vues/styles.json``)."""
    return json.loads(Path(__file__).with_name("styles.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def lire_fonds_carte() -> dict:
    """Fonds de carte (nom, adresse des tuiles, attribution, zoom maximal, source), message hors ligne et
    réglages de la surimpression des parcelles et bâtiments (``vues/fonds_carte.json``)."""
    return json.loads(Path(__file__).with_name("fonds_carte.json").read_text(encoding="utf-8"))


class ControleFonds(MacroElement):
    """Choix du fond de carte (contrôle de calques Leaflet, fonds seulement) et bandeau « fond de carte
    indisponible » affiché dans la carte quand une tuile du fond affiché échoue (événement ``tileerror``)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var carte = {{ this._parent.get_name() }};
          var fonds = {};
          {% for fond in this.fonds %}fonds[{{ fond.tile_name | tojson }}] = {{ fond.get_name() }};
          {% endfor %}
          L.control.layers(fonds, null, {collapsed: true, position: "topleft"}).addTo(carte);
          var bandeau = L.DomUtil.create("div", "desimper-fond-indisponible", carte.getContainer());
          bandeau.setAttribute("role", "status");
          bandeau.textContent = {{ this.message | tojson }};
          bandeau.style.cssText = "position:absolute; top:10px; left:54px; max-width:40%;"  // à droite du zoom
            + "z-index:1001; padding:4px 8px; border-radius:6px; pointer-events:none;"
            + "background:rgba(255,248,225,0.95); color:#5d4037; border:1px solid #e0b252;"
            + "font:12px/1.3 sans-serif; text-align:center; display:none;";
          Object.keys(fonds).forEach(function (nom) {
            var fond = fonds[nom];
            fond.on("tileerror", function () { if (carte.hasLayer(fond)) { bandeau.style.display = "block"; } });
            fond.on("tileload", function () { if (carte.hasLayer(fond)) { bandeau.style.display = "none"; } });
          });
          carte.on("baselayerchange", function () { bandeau.style.display = "none"; });
        })();
        {% endmacro %}
    """)

    def __init__(self, fonds: list[folium.TileLayer], message: str):
        super().__init__()
        self._name = "ControleFonds"
        self.fonds = fonds
        self.message = message


def ajouter_fonds_carte(carte: folium.Map, premier: str | None = None) -> list[folium.TileLayer]:
    """Fonds de carte de ``vues/fonds_carte.json`` (Plan IGN, photographies aériennes IGN, OSM) avec leur
    attribution, au choix dans un contrôle de calques ; ``premier`` : nom du fond affiché d'abord. Hors ligne,
    un bandeau dans la carte dit que le fond n'est pas disponible (les couches vectorielles restent)."""
    reglages = lire_fonds_carte()
    fonds = sorted(reglages["fonds"], key=lambda fond: fond["nom"] != premier)
    couches = []
    for rang, fond in enumerate(fonds):
        couche = folium.TileLayer(fond["url"], attr=fond["attribution"], name=fond["nom"],
                                  max_zoom=fond["zoom_max"], overlay=False, control=False, show=rang == 0)
        couche.add_to(carte)
        couches.append(couche)
    carte.add_child(ControleFonds(couches, reglages["message_hors_ligne"]))
    return couches


def alleger_geometries(table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Copie en WGS84 aux coordonnées arrondies à 1e-5° (≈ 1 m), pour l'envoi au navigateur."""
    table = en_wgs84(table, copier=True)
    table["geometry"] = shapely.set_precision(table.geometry.values, PRECISION_DEGRES)
    return table


def creer_carte_vide(emprise: tuple[float, float, float, float], hauteur: str = "100%",
                     fond: str | None = None) -> folium.Map:
    """Carte centrée sur l'emprise (lon min, lat min, lon max, lat max), fonds de carte au choix
    (:func:`ajouter_fonds_carte`) et fond uni hors ligne."""
    utiliser_actifs_locaux()
    styles = lire_styles()
    xmin, ymin, xmax, ymax = emprise
    carte = folium.Map(location=[(ymin + ymax) / 2, (xmin + xmax) / 2], zoom_start=11, tiles=None,
                       control_scale=False, height=hauteur, prefer_canvas=False,
                       zoom_snap=0.25, zoom_delta=0.5)
    EchelleMetrique().add_to(carte)
    ajouter_fonds_carte(carte, fond)
    carte.get_root().header.add_child(Element(
        f"<style>.leaflet-container {{ background: {styles['fond_carte']}; }}</style>"))
    carte.fit_bounds([[ymin, xmin], [ymax, xmax]])
    return carte


@dataclass(frozen=True)
class Choroplethe:
    """Valeurs d'un indicateur par commune pour colorer la carte : titre, unité, décimales."""

    valeurs: pd.Series  # indexée par code INSEE
    titre: str
    unite: str = ""
    decimales: int = 0


def calculer_classes(valeurs: pd.Series, nombre: int) -> list[float]:
    """Bornes de classes par quantiles (valeurs finies, bornes distinctes) : ``nombre`` classes au plus."""
    finies = valeurs[np.isfinite(valeurs.to_numpy(dtype=float, na_value=np.nan))].astype(float)
    if finies.empty:
        return []
    bornes = np.unique(np.quantile(finies, np.linspace(0, 1, nombre + 1)))
    return [float(b) for b in bornes] if len(bornes) > 1 else [float(bornes[0]), float(bornes[0])]


def choisir_couleurs(palette: list[str], nombre: int) -> list[str]:
    """``nombre`` couleurs réparties sur la palette (de la plus claire à la plus foncée)."""
    rangs = np.linspace(0, len(palette) - 1, max(nombre, 1)).round().astype(int)
    return [palette[r] for r in rangs]


def colorer_valeurs(valeurs: pd.Series, bornes: list[float], palette: list[str], sans_donnee: str) -> pd.Series:
    """Couleur de chaque valeur selon sa classe ; ``sans_donnee`` pour NaN."""
    nombres = valeurs.to_numpy(dtype=float, na_value=np.nan)
    if not bornes:
        return pd.Series(sans_donnee, index=valeurs.index)
    nombre = max(len(bornes) - 1, 1)
    classes = np.clip(np.searchsorted(bornes, nombres, side="right") - 1, 0, nombre - 1)
    echelle = choisir_couleurs(palette, nombre)
    couleurs = [echelle[c] for c in classes]
    return pd.Series(np.where(np.isfinite(nombres), couleurs, sans_donnee), index=valeurs.index)


def ajouter_communes(carte: folium.Map, communes: gpd.GeoDataFrame,
                     operations_par_commune: pd.Series | None = None,
                     choroplethe: Choroplethe | None = None, transparentes: bool = False) -> folium.GeoJson:
    """Ajoute les communes (classe SVG ``desimper-commune``), colorées par un indicateur s'il est donné ;
    ``transparentes`` : contours seuls (au-dessus d'une image), toujours cliquables."""
    styles = lire_styles()
    style = styles["commune"]
    table = alleger_geometries(communes[["code_insee", "nom", "geometry"]])
    comptes = operations_par_commune if operations_par_commune is not None else pd.Series(dtype="int64")
    table["nom"] = table["nom"].map(html.escape)
    table["operations"] = table["code_insee"].map(comptes).fillna(0).astype(int)
    champs, alias = ["nom", "code_insee", "operations"], ["Commune", "Code INSEE", "Opérations"]
    if choroplethe is not None:
        valeurs = table["code_insee"].map(choroplethe.valeurs).astype(float)
        bornes = calculer_classes(valeurs, len(styles["choroplethe"]))
        table["couleur"] = colorer_valeurs(valeurs, bornes, styles["choroplethe"], styles["sans_donnee"]).to_numpy()
        table["valeur"] = [formater_nombre(v, choroplethe.decimales, choroplethe.unite) for v in valeurs]
        champs, alias = [*champs, "valeur"], [*alias, html.escape(choroplethe.titre)]
        remplissage, opacite = (lambda f: f["properties"]["couleur"]), styles["opacite_choroplethe"]
        Legende(choroplethe.titre, decrire_classes(bornes, styles["choroplethe"], choroplethe),
                position="bottom:24px; left:10px;", forme="carre").add_to(carte)
    else:
        remplissage, opacite = (lambda _: style["remplissage"]), style["opacite"]
    if transparentes:
        opacite = styles["opacite_transparente"]
    couche = folium.GeoJson(
        table.to_json(drop_id=True),
        name="Communes",
        style_function=lambda f: {"color": style["contour"], "weight": style["epaisseur"],
                                  "fillColor": remplissage(f), "fillOpacity": opacite,
                                  "className": "desimper-commune"},
        highlight_function=lambda _: {"weight": style["epaisseur"] * 2.5, "fillOpacity": 0.8},
        tooltip=folium.GeoJsonTooltip(champs, aliases=alias),
    )
    couche.add_to(carte)
    return couche


def decrire_classes(bornes: list[float], palette: list[str], choroplethe: Choroplethe) -> list[tuple[str, str]]:
    """Entrées de légende « de … à … » pour chaque classe, plus « sans donnée » si besoin."""
    styles = lire_styles()
    if not bornes:
        return [("Sans donnée", styles["sans_donnee"])]
    nombre = max(len(bornes) - 1, 1)
    echelle = choisir_couleurs(palette, nombre)
    entrees = []
    for rang in range(nombre):
        bas, haut = bornes[rang], bornes[min(rang + 1, len(bornes) - 1)]
        texte = (formater_nombre(bas, choroplethe.decimales, choroplethe.unite) if bas == haut else
                 f"{formater_nombre(bas, choroplethe.decimales)} – "
                 f"{formater_nombre(haut, choroplethe.decimales, choroplethe.unite)}")
        entrees.append((texte, echelle[rang]))
    if choroplethe.valeurs.isna().any():
        entrees.append(("Sans donnée", styles["sans_donnee"]))
    return entrees


LIEU_APPROXIMATIF = "approximatif (centre de la commune)"


def _style_operation(proprietes: dict, couleurs: dict) -> dict:
    """Point plein (emplacement dessiné) ou cercle en pointillés (placé au centre de la commune)."""
    couleur = couleurs.get(proprietes["categorie"], "#444444")
    if proprietes.get("lieu") == LIEU_APPROXIMATIF:
        return {"color": couleur, "weight": 2, "dashArray": "3 3", "fill": True, "fillColor": couleur,
                "fillOpacity": 0.2, "radius": 8, "className": "desimper-operation"}
    return {"color": "#ffffff", "fill": True, "fillColor": couleur, "className": "desimper-operation"}


def ajouter_operations(carte: folium.Map, operations: gpd.GeoDataFrame, couleur_par: str = "type_site",
                       fiches: pd.Series | None = None) -> folium.GeoJson | None:
    """Ajoute les opérations en points (classe SVG ``desimper-operation``) colorés par type ou statut.

    ``fiches`` : HTML déjà échappé de la fenêtre de chaque opération (même index que ``operations``).
    """
    if operations is None or operations.empty:
        return None
    styles = lire_styles()
    couleurs = styles["types_site"] if couleur_par == "type_site" else styles["statuts"]
    types = lire_types_site()
    table = gpd.GeoDataFrame(
        {
            "nom": operations["nom"].astype(str).map(html.escape).to_numpy(),
            "type": operations["type_site"].map(types).fillna("Autre").to_numpy(),
            "categorie": operations[couleur_par].astype(str).to_numpy(),
            "statut": operations["statut"].map(STATUTS).fillna("").to_numpy(),
            "lieu": np.where(operations["localisation_approximative"].fillna(False).astype(bool).to_numpy()
                             if "localisation_approximative" in operations.columns else False,
                             LIEU_APPROXIMATIF, "dessiné"),
        },
        geometry=en_wgs84(operations.geometry).representative_point().to_numpy(),
        crs=4326,
    )
    if fiches is not None:
        table["fiche"] = fiches.reindex(operations.index).fillna("").to_numpy()
    table = alleger_geometries(table).reset_index(drop=True)
    couche = folium.GeoJson(
        table.to_json(),  # identifiants courts : folium y attache les styles plutôt qu'à la fiche entière
        name="Opérations",
        marker=folium.CircleMarker(radius=5, weight=1, fill_opacity=0.9),
        style_function=lambda f: _style_operation(f["properties"], couleurs),
        tooltip=folium.GeoJsonTooltip(["nom", "type", "statut", "lieu"],
                                      aliases=["Opération", "Type", "Statut", "Emplacement"]),
        popup=folium.GeoJsonPopup(["fiche"], labels=False, max_width=260) if fiches is not None else None,
    )
    couche.add_to(carte)
    return couche


def ajouter_image(carte: folium.Map, uri: str, bornes: list[list[float]], titre: str,
                  entrees_legende: list[tuple[str, str]]) -> None:
    """Image colorée (PNG en data URI) calée sur ses bornes WGS84, avec sa légende."""
    folium.raster_layers.ImageOverlay(uri, bounds=bornes, name=titre, interactive=False, zindex=300,
                                      class_name="desimper-image").add_to(carte)
    Legende(titre, entrees_legende, position="bottom:24px; left:10px;", forme="carre").add_to(carte)


def legender_rampe(palette: list[str], minimum: float, maximum: float, decimales: int, unite: str,
                   nombre: int = 5) -> list[tuple[str, str]]:
    """Entrées de légende d'une rampe continue : ``nombre`` valeurs régulières et leur couleur."""
    valeurs = np.linspace(minimum, maximum, nombre)
    rangs = np.linspace(0, len(palette) - 1, nombre).round().astype(int)
    return [(formater_nombre(v, decimales, unite), palette[r]) for v, r in zip(valeurs, rangs)]


class EchelleMetrique(MacroElement):
    """Barre d'échelle en mètres et kilomètres seulement (folium ``control_scale`` ajoute les miles et pieds),
    en bas à droite, au-dessus de l'attribution (les légendes occupent le bas à gauche)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, position: "bottomright"}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "EchelleMetrique"


# Légendes : jamais plus d'un quart de la carte (45 % × 45 % au plus, défilement au-delà) ; un clic sur le titre
# les replie ou les déplie ; sur une carte étroite (téléphone, < 480 px) elles sont repliées au départ.
LARGEUR_TELEPHONE_PX = 480
STYLE_LEGENDES = f"""
.desimper-legende {{ max-width: 45%; max-height: 45%; overflow: auto; box-sizing: border-box; }}
.desimper-legende .desimper-legende-titre {{ cursor: pointer; user-select: none; }}
.desimper-legende .desimper-legende-titre::after {{ content: " ▾"; color: #666; }}
.desimper-legende.repliee .desimper-legende-entrees {{ display: none; }}
.desimper-legende.repliee .desimper-legende-titre::after {{ content: " ▸"; }}
@media (max-width: {LARGEUR_TELEPHONE_PX - 1}px) {{
  .desimper-legende {{ font-size: 12px !important; padding: 5px 7px !important; }}
  .desimper-legende:not(.depliee) .desimper-legende-entrees {{ display: none; }}
  .desimper-legende:not(.depliee) .desimper-legende-titre::after {{ content: " ▸"; }}
  .desimper-legende.depliee .desimper-legende-titre::after {{ content: " ▾"; }}
}}
"""


class Legende(MacroElement):
    """Légende HTML fixe (coin bas droit par défaut) : titre et pastilles colorées, textes échappés ; repliable
    (clic sur le titre), repliée au départ sur un téléphone, un quart de la carte au plus."""

    _template = Template("""
        {% macro header(this, kwargs) %}<style>{{ this.style }}</style>{% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="desimper-legende" style="position:absolute; {{ this.position }} z-index:1000;
             background:rgba(255,255,255,0.92); padding:8px 10px; border-radius:6px;
             box-shadow:0 1px 4px rgba(0,0,0,0.3); font:13px/1.35 sans-serif; color:#222;">
          <div class="desimper-legende-titre" role="button" tabindex="0" title="Replier ou déplier la légende"
               style="font-weight:600; margin-bottom:4px;"
               onclick="this.parentNode.classList.toggle(
                 window.innerWidth < {{ this.largeur_telephone }} ? 'depliee' : 'repliee')"
               >{{ this.titre }}</div>
          <div class="desimper-legende-entrees">
          {% for libelle, couleur in this.entrees %}
          <div><span style="display:inline-block; width:11px; height:11px; border-radius:{{ this.rayon }};
               background:{{ couleur }}; margin-right:6px; border:1px solid #fff;"></span>{{ libelle }}</div>
          {% endfor %}
          </div>
        </div>
        {% endmacro %}
    """)

    def __init__(self, titre: str, entrees: list[tuple[str, str]], position: str = "bottom:24px; right:10px;",
                 forme: str = "rond"):
        super().__init__()
        self._name = "Legende"
        self.position = position
        self.rayon = "50%" if forme == "rond" else "2px"
        self.titre = html.escape(titre)
        self.entrees = [(html.escape(libelle), couleur) for libelle, couleur in entrees]
        self.largeur_telephone = LARGEUR_TELEPHONE_PX
        self.style = STYLE_LEGENDES


def construire_carte_bassin(communes: gpd.GeoDataFrame, operations: gpd.GeoDataFrame,
                            hauteur: str = "100%", choroplethe: Choroplethe | None = None,
                            couleur_par: str = "type_site", fiches: pd.Series | None = None,
                            image: dict | None = None) -> folium.Map:
    """Carte du bassin : communes (colorées par un indicateur si donné), image facultative (chaleur),
    opérations par type ou statut avec leur fiche, légendes.

    ``image`` : ``{"uri", "bornes", "titre", "legende"}`` (voir :func:`ajouter_image`).
    """
    emprise = tuple(en_wgs84(communes).total_bounds)
    carte = creer_carte_vide(emprise, hauteur)
    comptes = operations.groupby("code_insee").size() if len(operations) else None
    ajouter_communes(carte, communes, comptes, choroplethe, transparentes=image is not None)
    if image is not None:
        ajouter_image(carte, image["uri"], image["bornes"], image["titre"], image["legende"])
    ajouter_operations(carte, operations, couleur_par, fiches)
    styles = lire_styles()
    presents = set(operations[couleur_par]) if len(operations) else set()
    if couleur_par == "type_site":
        titre, libelles, couleurs = "Type de site", lire_types_site(), styles["types_site"]
    else:
        titre, libelles, couleurs = "Statut", STATUTS, styles["statuts"]
    entrees = [(libelle, couleurs[code]) for code, libelle in libelles.items() if code in presents]
    if entrees:
        Legende(titre, entrees, position="top:10px; right:10px;").add_to(carte)
    return carte


def ajouter_zones(carte: folium.Map, zones: gpd.GeoDataFrame) -> folium.GeoJson | None:
    """Zones des opérations (polygones simplifiés à 1 m) colorées par type de site, info-bulle échappée."""
    if zones is None or zones.empty:
        return None
    from donnees.nomenclatures import lire_revetements

    couleurs = lire_styles()["types_site"]
    libelles = lire_revetements()["libelle"].to_dict()
    table = gpd.GeoDataFrame({
        "operation": zones["nom"].astype(str).map(html.escape).to_numpy(),
        "type_site": zones["type_site"].to_numpy(),
        "avant": zones["revetement_avant"].map(libelles).fillna(zones["revetement_avant"]).to_numpy(),
        "apres": zones["revetement_apres"].map(libelles).fillna(zones["revetement_apres"]).to_numpy(),
        "surface": [formater_nombre(s, 0, "m²") for s in zones["surface_m2"]],
    }, geometry=en_wgs84(en_lambert93(zones.geometry).simplify(1.0)).to_numpy(), crs=4326)
    couche = folium.GeoJson(
        alleger_geometries(table).to_json(drop_id=True), name="Zones des opérations",
        style_function=lambda f: {"color": couleurs.get(f["properties"]["type_site"], "#444"), "weight": 1.5,
                                  "fillColor": couleurs.get(f["properties"]["type_site"], "#444"),
                                  "fillOpacity": 0.6, "className": "desimper-zone"},
        tooltip=folium.GeoJsonTooltip(["operation", "avant", "apres", "surface"],
                                      aliases=["Opération", "Avant", "Après", "Surface"]),
    )
    couche.add_to(carte)
    return couche


def ajouter_parcelles_prioritaires(carte: folium.Map, parcelles: gpd.GeoDataFrame) -> folium.GeoJson | None:
    """Parcelles candidates colorées par score de priorité (0–100), rang et surfaces en info-bulle."""
    if parcelles is None or parcelles.empty:
        return None
    palette = lire_styles()["priorites"]
    bornes = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
    scores = parcelles["score_priorite"].astype(float)
    table = gpd.GeoDataFrame({
        "id": parcelles["id"].astype(str).to_numpy(),
        "rang": parcelles["rang_priorite"].astype("Int64").astype(str).to_numpy(),
        "score": [formater_nombre(s, 0) for s in scores],
        "impermeable": [formater_nombre(s, 0, "m²") for s in parcelles["surface_impermeable_non_batie_parcelle"]],
        "couleur": colorer_valeurs(scores, bornes, palette, lire_styles()["sans_donnee"]).to_numpy(),
    }, geometry=en_wgs84(en_lambert93(parcelles.geometry).simplify(0.5)).to_numpy(), crs=4326)
    couche = folium.GeoJson(
        alleger_geometries(table).to_json(drop_id=True), name="Parcelles prioritaires",
        style_function=lambda f: {"color": "#7f2704", "weight": 0.6, "fillColor": f["properties"]["couleur"],
                                  "fillOpacity": 0.75, "className": "desimper-parcelle"},
        tooltip=folium.GeoJsonTooltip(["id", "rang", "score", "impermeable"],
                                      aliases=["Parcelle", "Rang", "Score (0–100)", "Imperméable non bâti"]),
    )
    couche.add_to(carte)
    entrees = [(f"{int(bas)} – {int(haut)}", couleur) for bas, haut, couleur in
               zip(bornes[:-1], bornes[1:], choisir_couleurs(palette, len(bornes) - 1))]
    Legende("Score de priorité", entrees, position="bottom:24px; left:10px;", forme="carre").add_to(carte)
    return couche


def construire_carte_commune(commune: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                             parcelles: gpd.GeoDataFrame | None = None, hauteur: str = "100%",
                             cadrer_sur_zones: bool = False,
                             emprise: tuple[float, float, float, float] | None = None,
                             fond: str | None = None) -> folium.Map:
    """Carte d'une commune : contour, parcelles prioritaires (facultatif) et zones des opérations.

    ``cadrer_sur_zones`` : vue ajustée aux zones (fiche d'une opération) plutôt qu'à la commune ;
    ``emprise`` (lon min, lat min, lon max, lat max) : vue imposée (ex. zones d'une opération modifiée) ;
    ``fond`` : nom du fond de carte affiché d'abord (:func:`ajouter_fonds_carte`).
    """
    if emprise is None:
        cadre = zones if cadrer_sur_zones and zones is not None and len(zones) else commune
        emprise = tuple(en_wgs84(cadre).total_bounds)
    carte = creer_carte_vide(emprise, hauteur, fond)
    style = lire_styles()["commune"]
    contour = alleger_geometries(commune[["code_insee", "geometry"]])
    folium.GeoJson(contour.to_json(drop_id=True), name="Commune",
                   style_function=lambda _: {"color": style["contour"], "weight": 2.5, "fill": False,
                                             "className": "desimper-commune"}).add_to(carte)
    if parcelles is not None:
        ajouter_parcelles_prioritaires(carte, parcelles)
    ajouter_zones(carte, zones)
    couleurs = lire_styles()["types_site"]
    presents = set(zones["type_site"]) if zones is not None and len(zones) else set()
    entrees = [(libelle, couleurs[code]) for code, libelle in lire_types_site().items() if code in presents]
    if entrees:
        Legende("Type de site", entrees, position="top:10px; right:10px;").add_to(carte)
    return carte


VOLET_PARCELLAIRE = "desimperParcellaire"


class VoletParcellaire(MacroElement):
    """Volet Leaflet des parcelles et bâtiments de fond, sous les zones et au-dessus des tuiles, affiché
    seulement à partir du zoom ``zoom_min`` (échelle de saisie)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var carte = {{ this._parent.get_name() }};
          var volet = carte.createPane({{ this.nom | tojson }});
          volet.style.zIndex = 350;
          function ajuster() { volet.style.display = carte.getZoom() >= {{ this.zoom_min }} ? "" : "none"; }
          carte.on("zoomend", ajuster);
          ajuster();
        })();
        {% endmacro %}
    """)

    def __init__(self, zoom_min: int):
        super().__init__()
        self._name = "VoletParcellaire"
        self.nom = VOLET_PARCELLAIRE
        self.zoom_min = int(zoom_min)


def convertir_contours_geojson(parcelles: gpd.GeoDataFrame, batiments: gpd.GeoDataFrame) -> dict[str, str]:
    """GeoJSON (texte) des parcelles, avec leur seule référence (échappée), et des bâtiments, réunis en une
    géométrie multiple sans propriété (le plus léger pour le navigateur). Tables déjà en WGS84 et allégées."""
    table = gpd.GeoDataFrame({"reference": parcelles["reference"].astype(str).map(html.escape).to_numpy()},
                             geometry=parcelles.geometry.to_numpy(), crs=4326)
    polygones = shapely.get_parts(shapely.get_parts(batiments.geometry.to_numpy()))
    bati = gpd.GeoDataFrame(geometry=[shapely.multipolygons(polygones)] if len(polygones) else [], crs=4326)
    return {"parcelles": table.to_json(drop_id=True), "batiments": bati.to_json(drop_id=True)}


class CadrageUnique(MacroElement):
    """Cadre la carte sur sa couche parente une seule fois par ``cle`` (les relances suivantes laissent la vue
    de l'utilisateur)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var couche = {{ this._parent.get_name() }};
          var carte = window.map || couche._map;
          if (!carte || window.desimperCadrage === {{ this.cle | tojson }} || !couche.getBounds().isValid()) {
            return;
          }
          window.desimperCadrage = {{ this.cle | tojson }};
          // Au premier affichage, la carte peut être encore sans taille ou dans l'animation de son propre cadrage
          // (qui, finie, remettrait sa vue) : on attend.
          function cadrer(essais) {
            carte.invalidateSize();
            if ((carte.getSize().x > 0 && !carte._animatingZoom) || essais <= 0) {
              carte.fitBounds(couche.getBounds(), {maxZoom: 19, padding: [30, 30], animate: false});
            } else {
              setTimeout(function () { cadrer(essais - 1); }, 200);
            }
          }
          carte.whenReady(function () { setTimeout(function () { cadrer(25); }, 100); });
        })();
        {% endmacro %}
    """)

    def __init__(self, cle: str):
        super().__init__()
        self._name = "CadrageUnique"
        self.cle = cle


def construire_surimpression(contours: dict[str, str] | None,
                             references: gpd.GeoDataFrame | None = None) -> folium.FeatureGroup:
    """Couches de la carte de saisie qui changent sans recréer la carte : parcelles (classe SVG
    ``desimper-parcelle-fond``, référence en info-bulle) et bâtiments (``desimper-batiment-fond``) dans le volet
    parcellaire (``contours`` : :func:`convertir_contours_geojson`), et parcelles données par référence
    (``desimper-parcelle-reference``, colonnes ``section``, ``numero``), en évidence, carte cadrée dessus."""
    styles = lire_styles()
    groupe = folium.FeatureGroup(name="Parcelles et bâtiments", control=False)
    if contours is not None:
        bati, parcelle = styles["batiment_fond"], styles["parcelle_fond"]
        folium.GeoJson(contours["batiments"], name="Bâtiments", pane=VOLET_PARCELLAIRE, interactive=False,
                       style_function=lambda _: {"color": bati["contour"], "weight": bati["epaisseur"],
                                                 "fillColor": bati["remplissage"],
                                                 "fillOpacity": bati["opacite_remplissage"],
                                                 "className": "desimper-batiment-fond"}).add_to(groupe)
        folium.GeoJson(contours["parcelles"], name="Parcelles", pane=VOLET_PARCELLAIRE,
                       style_function=lambda _: {"color": parcelle["contour"], "weight": parcelle["epaisseur"],
                                                 "fillOpacity": parcelle["opacite_remplissage"],
                                                 "className": "desimper-parcelle-fond"},
                       tooltip=folium.GeoJsonTooltip(["reference"], aliases=["Parcelle"])).add_to(groupe)
    if references is not None and len(references):
        ajouter_parcelles_reference(groupe, references)
    return groupe


def ajouter_parcelles_reference(parent, references: gpd.GeoDataFrame) -> folium.GeoJson:
    """Parcelles données par référence : contour épais de couleur distincte, info-bulle, carte cadrée dessus
    une fois par ensemble de références."""
    style = lire_styles()["parcelle_reference"]
    table = gpd.GeoDataFrame(
        {"reference": (references["section"].astype(str) + " " + references["numero"].astype(str))
         .map(html.escape).to_numpy()},
        geometry=en_wgs84(references.geometry).to_numpy(), crs=4326)
    couche = folium.GeoJson(
        alleger_geometries(table).to_json(drop_id=True), name="Parcelles données par référence",
        style_function=lambda _: {"color": style["contour"], "weight": style["epaisseur"],
                                  "fillColor": style["remplissage"], "fillOpacity": style["opacite_remplissage"],
                                  "className": "desimper-parcelle-reference"},
        tooltip=folium.GeoJsonTooltip(["reference"], aliases=["Parcelle donnée par référence"]))
    couche.add_child(CadrageUnique("|".join(sorted(table["reference"]))))
    couche.add_to(parent)
    return couche


def construire_carte_saisie(commune: gpd.GeoDataFrame, emprise: tuple[float, float, float, float] | None = None,
                            hauteur: str = "100%") -> folium.Map:
    """Carte de saisie : contour de la commune, fond au choix (photographies aériennes d'abord, pour dessiner
    contre le terrain), volet des parcelles et bâtiments affiché à l'échelle de saisie, outils de dessin."""
    carte = construire_carte_commune(commune, None, hauteur=hauteur, emprise=emprise,
                                     fond=lire_fonds_carte()["fond_saisie"])
    carte.add_child(VoletParcellaire(lire_fonds_carte()["surimpression"]["zoom_min"]))
    return ajouter_outils_dessin(carte)


# Textes de Leaflet.draw en français (L.drawLocal), fusionnés dans les textes anglais du greffon.
TEXTES_DESSIN = {
    "draw": {
        "toolbar": {
            "actions": {"title": "Annuler le dessin", "text": "Annuler"},
            "finish": {"title": "Terminer le dessin", "text": "Terminer"},
            "undo": {"title": "Retirer le dernier point", "text": "Retirer le dernier point"},
            "buttons": {"polygon": "Dessiner une zone (polygone)", "rectangle": "Dessiner une zone rectangulaire"},
        },
        "handlers": {
            "polygon": {"tooltip": {"start": "Cliquez pour placer le premier sommet.",
                                    "cont": "Cliquez pour placer le sommet suivant.",
                                    "end": "Cliquez sur le premier sommet pour fermer la zone."}},
            "rectangle": {"tooltip": {"start": "Cliquez et faites glisser pour dessiner un rectangle."}},
            "simpleshape": {"tooltip": {"end": "Relâchez la souris pour terminer."}},
            "polyline": {"error": "<strong>Erreur :</strong> les bords de la zone ne doivent pas se croiser."},
        },
    },
    "edit": {
        "toolbar": {
            "actions": {"save": {"title": "Garder les modifications", "text": "Enregistrer"},
                        "cancel": {"title": "Annuler les modifications", "text": "Annuler"},
                        "clearAll": {"title": "Effacer toutes les zones", "text": "Tout effacer"}},
            "buttons": {"edit": "Modifier les zones", "editDisabled": "Aucune zone à modifier",
                        "remove": "Supprimer des zones", "removeDisabled": "Aucune zone à supprimer"},
        },
        "handlers": {
            "edit": {"tooltip": {"text": "Déplacez les poignées pour modifier la zone.",
                                 "subtext": "Cliquez sur Annuler pour revenir en arrière."}},
            "remove": {"tooltip": {"text": "Cliquez sur une zone pour la supprimer."}},
        },
    },
}


def ajouter_outils_dessin(carte: folium.Map) -> folium.Map:
    """Outils Leaflet.draw (polygone et rectangle, modifier, supprimer) aux textes français ; les bords qui se
    croisent sont refusés pendant le dessin."""
    import folium.plugins

    # Le script des textes est rendu avec ceux de la carte, avant la création de l'outil (un <script> de la
    # partie HTML ne serait pas exécuté par streamlit-folium).
    textes = MacroElement()
    textes._template = Template(
        "{% macro script(this, kwargs) %}(function () {function fusionner(c, s) {for (var k in s) {"
        "if (s[k] && typeof s[k] === 'object') {c[k] = c[k] || {}; fusionner(c[k], s[k]);} else {c[k] = s[k];}}}"
        "if (window.L && L.drawLocal) {fusionner(L.drawLocal, " + json.dumps(TEXTES_DESSIN, ensure_ascii=False)
        + ");}})();{% endmacro %}")
    carte.add_child(textes)
    folium.plugins.Draw(
        export=False,
        draw_options={"polyline": False, "circle": False, "marker": False, "circlemarker": False,
                      "rectangle": True, "polygon": {"allowIntersection": False, "showArea": False}},
        edit_options={"edit": True, "remove": True}).add_to(carte)
    return carte
