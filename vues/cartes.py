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
from donnees.nomenclatures import STATUTS, lire_revetements, lire_types_site
from indicateurs.catalogue import formater_valeur, libelle
from indicateurs.communs import CODE_BASSIN
from donnees.magasin.scenarios import LIBELLES_AVIS
from indicateurs.potentiel import CLASSES_POTENTIEL
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


class CoucheOperations(MacroElement):
    """Opérations en cercles SVG (classe ``desimper-operation``) colorés par type ou statut : point plein
    (emplacement dessiné) ou cercle en pointillés (centre de la commune) ; info-bulle (nom échappé, type, statut,
    emplacement). Données compactes (une liste par opération, libellés en tables) : ≈ 3 fois moins lourd et
    10 fois plus rapide à construire qu'un GeoJSON folium. Le clic renvoie seulement l'identifiant (propriété
    ``id``) : la page affiche la fiche ; aucune fenêtre embarquée."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var groupe = {{ this._parent.get_name() }};
          var couleurs = {{ this.couleurs | tojson }}, types = {{ this.types | tojson }},
              statuts = {{ this.statuts | tojson }}, lieux = {{ this.lieux | tojson }},
              alias = {{ this.alias | tojson }};
          {{ this.donnees | tojson }}.forEach(function (d) {
            var couleur = couleurs[d[3]], approx = d[4] === 1;
            var cercle = L.circleMarker([d[1], d[0]], approx
              ? {radius: 8, color: couleur, weight: 2, dashArray: "3 3", fill: true, fillColor: couleur,
                 fillOpacity: 0.2, className: "desimper-operation"}
              : {radius: 5, color: "#ffffff", weight: 1, fill: true, fillColor: couleur, fillOpacity: 0.9,
                 className: "desimper-operation"});
            cercle.feature = {type: "Feature", properties: {id: d[2]}};
            var valeurs = [d[5], types[d[6]], statuts[d[7]], lieux[d[4]]];
            cercle.bindTooltip("<table>" + alias.map(function (a, i) {
              return "<tr><th>" + a + "</th><td>" + valeurs[i] + "</td></tr>"; }).join("") + "</table>",
              {sticky: true, className: "foliumtooltip"});
            groupe.addLayer(cercle);
          });
        })();
        {% endmacro %}
    """)

    def __init__(self, points: pd.DataFrame, couleur_par: str = "type_site"):
        super().__init__()
        self._name = "CoucheOperations"
        palette = lire_styles()["types_site" if couleur_par == "type_site" else "statuts"]
        categories = sorted(set(points[couleur_par].astype(str)))
        codes_types, codes_statuts = sorted(set(points["type_site"].astype(str))), sorted(set(points["statut"]))
        types, statuts = lire_types_site(), STATUTS
        self.couleurs = [palette.get(c, "#444444") for c in categories]
        self.types = [html.escape(types.get(c, "Autre")) for c in codes_types]
        self.statuts = [html.escape(statuts.get(c, "")) for c in codes_statuts]
        self.lieux = ["dessiné", html.escape(LIEU_APPROXIMATIF)]
        self.alias = ["Opération", "Type", "Statut", "Emplacement"]
        rang = {nom: {c: i for i, c in enumerate(liste)} for nom, liste in
                (("categorie", categories), ("type_site", codes_types), ("statut", codes_statuts))}
        self.donnees = [
            [float(lon), float(lat), int(ident), rang["categorie"][str(categorie)], int(bool(approx)),
             html.escape(str(nom)), rang["type_site"][str(type_site)], rang["statut"][str(statut)]]
            for lon, lat, ident, categorie, approx, nom, type_site, statut in zip(*(
                points[c].to_numpy(dtype=object) for c in ("lon", "lat", "id", couleur_par, "approximative", "nom",
                                                           "type_site", "statut")))]


def ajouter_operations(parent, points: pd.DataFrame, couleur_par: str = "type_site") -> CoucheOperations | None:
    """Ajoute les opérations ``points`` (table de :func:`preparer_points_operations`, déjà réduite à ce qu'il faut
    envoyer) en cercles colorés par type ou statut (:class:`CoucheOperations`)."""
    if points is None or points.empty:
        return None
    couche = CoucheOperations(points, couleur_par)
    parent.add_child(couche)
    return couche


# ------------------------------------------------------------------------ cartes bornées (issue 14)


@lru_cache(maxsize=1)
def lire_reglages_cartes() -> dict:
    """Seuil de zoom des opérations une à une, plafond d'opérations envoyées, grille de l'emprise, rayons des
    cercles des communes, avec leur justification (``vues/cartes_bornees.json``)."""
    return json.loads(Path(__file__).with_name("cartes_bornees.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class VueCarte:
    """Vue d'une carte : niveau de zoom Leaflet et emprise (lon min, lat min, lon max, lat max) en WGS84."""

    zoom: float
    emprise: tuple[float, float, float, float]


def lire_vue(retour: dict | None) -> VueCarte | None:
    """Vue renvoyée par ``st_folium`` (``bounds`` et ``zoom``) ; None si absente ou incomplète."""
    if not isinstance(retour, dict):
        return None
    bornes, zoom = retour.get("bounds"), retour.get("zoom")
    try:
        sud_ouest, nord_est = bornes["_southWest"], bornes["_northEast"]
        emprise = tuple(float(v) for v in (sud_ouest["lng"], sud_ouest["lat"], nord_est["lng"], nord_est["lat"]))
        zoom = float(zoom)
    except (KeyError, TypeError, ValueError):
        return None
    if not all(np.isfinite([*emprise, zoom])):
        return None
    return VueCarte(zoom, emprise)


def arrondir_vue(vue: VueCarte | None) -> VueCarte | None:
    """Petite clé de cache d'une vue : sous le seuil de zoom, la vue ne compte pas (les communes sont toutes
    envoyées) ; au-delà, zoom entier et emprise élargie à la grille des tuiles web de ce zoom (360° / 2^zoom)."""
    reglages = lire_reglages_cartes()
    if vue is None or vue.zoom < reglages["zoom_operations"]:
        return None
    zoom = int(np.floor(vue.zoom))
    pas = 360.0 / 2 ** zoom / reglages["cases_par_tuile"]
    xmin, ymin, xmax, ymax = vue.emprise
    emprise = (np.floor(xmin / pas) * pas, np.floor(ymin / pas) * pas, np.ceil(xmax / pas) * pas,
               np.ceil(ymax / pas) * pas)
    return VueCarte(zoom, tuple(round(float(v), 6) for v in emprise))


COLONNES_POINTS = ["id", "code_insee", "lon", "lat", "nom", "type_site", "statut", "approximative", "surface"]


def preparer_points_operations(operations: gpd.GeoDataFrame, surfaces: pd.Series | None = None) -> pd.DataFrame:
    """Un point par opération (WGS84, arrondi à 1e-5°), propriétés minimales, les plus grandes d'abord.

    ``surfaces`` : surface désimperméabilisée (m²) par identifiant d'opération (ordre d'envoi sous le plafond et
    somme des cercles des communes) ; absente : 0. À calculer une fois par registre, droits et filtres.
    """
    if operations is None or operations.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLONNES_POINTS})
    points = shapely.set_precision(en_wgs84(operations.geometry).representative_point().to_numpy(),
                                   PRECISION_DEGRES)
    approximative = (operations["localisation_approximative"].fillna(False).astype(bool).to_numpy()
                     if "localisation_approximative" in operations.columns else np.zeros(len(operations), bool))
    surface = operations["id"].map(surfaces) if surfaces is not None else pd.Series(0.0, index=operations.index)
    table = pd.DataFrame({
        "id": operations["id"].astype(int).to_numpy(), "code_insee": operations["code_insee"].astype(str).to_numpy(),
        "lon": shapely.get_x(points), "lat": shapely.get_y(points), "nom": operations["nom"].astype(str).to_numpy(),
        "type_site": operations["type_site"].astype(str).to_numpy(),
        "statut": operations["statut"].astype(str).to_numpy(), "approximative": approximative,
        "surface": pd.to_numeric(surface, errors="coerce").fillna(0.0).to_numpy(float)})
    return table.sort_values(["surface", "id"], ascending=[False, True], kind="stable").reset_index(drop=True)


def agreger_operations(points: pd.DataFrame, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Un cercle par commune qui a des opérations, compté sur les points (:func:`placer_cercles`)."""
    if points is None or points.empty:
        return placer_cercles(None, communes)
    return placer_cercles(points.groupby("code_insee").agg(nombre=("id", "size"), surface=("surface", "sum")),
                          communes)


def placer_cercles(comptes: pd.DataFrame | None, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Un cercle par commune qui a des opérations : code, nom, position (point intérieur de la commune, WGS84),
    nombre d'opérations et surface désimperméabilisée (m²) ; la plus grosse commune d'abord.

    ``comptes`` : colonnes ``nombre`` et ``surface`` indexées par code INSEE (comptées sur les points, ou lues
    dans les agrégats de la base sans charger les opérations) ; les communes sans opération n'ont pas de cercle."""
    colonnes = ["code_insee", "nom", "lon", "lat", "nombre", "surface"]
    if comptes is not None:
        comptes = comptes[pd.to_numeric(comptes["nombre"], errors="coerce").fillna(0) > 0]
    if comptes is None or comptes.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in colonnes})
    interieurs = en_wgs84(communes[["code_insee", "nom", "geometry"]], copier=True)
    positions = shapely.set_precision(interieurs.geometry.representative_point().to_numpy(), PRECISION_DEGRES)
    table = pd.DataFrame({"code_insee": interieurs["code_insee"].astype(str).to_numpy(),
                          "nom": interieurs["nom"].astype(str).to_numpy(),
                          "lon": shapely.get_x(positions), "lat": shapely.get_y(positions)})
    comptes = comptes[["nombre", "surface"]].set_axis(comptes.index.astype(str))
    table = table.merge(comptes, left_on="code_insee", right_index=True)
    return table.sort_values("nombre", ascending=False, kind="stable").reset_index(drop=True)[colonnes]


def placer_cercles_indicateurs(table: pd.DataFrame, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Cercles par commune (:func:`placer_cercles`) lus dans la table des indicateurs par commune (colonnes
    ``territoire``, ``nombre_operations``, ``surface_desimpermeabilisee`` ; ligne du bassin ignorée) : mêmes
    nombres et surfaces que comptés sur les points, sans lire les opérations une à une."""
    table = table[table["territoire"] != CODE_BASSIN].set_index("territoire")
    return placer_cercles(pd.DataFrame({"nombre": table["nombre_operations"],
                                        "surface": table["surface_desimpermeabilisee"]}), communes)


@dataclass(frozen=True)
class ResumeOperations:
    """Ce que le fond de carte montre des opérations sans les lire une à une : ``comptes`` (nombre d'opérations
    par code INSEE, info-bulle des communes) et ``presents`` (types de site ou statuts présents, légende)."""

    comptes: pd.Series | None
    presents: frozenset

    @classmethod
    def depuis_points(cls, points: pd.DataFrame | None, couleur_par: str = "type_site") -> ResumeOperations:
        """Résumé compté sur les points des opérations (:func:`preparer_points_operations`)."""
        if points is None or points.empty:
            return cls(None, frozenset())
        return cls(points.groupby("code_insee").size(), frozenset(points[couleur_par].astype(str)))

    @classmethod
    def depuis_indicateurs(cls, table: pd.DataFrame, groupes: pd.DataFrame, couleur_par: str = "type_site"
                           ) -> ResumeOperations:
        """Résumé lu dans les indicateurs par commune (``territoire``, ``nombre_operations``) et regroupés par
        ``couleur_par`` (une ligne par type de site ou statut, ``nombre_operations``)."""
        table = table[table["territoire"] != CODE_BASSIN]
        comptes = pd.to_numeric(table.set_index("territoire")["nombre_operations"], errors="coerce").fillna(0)
        presents = groupes.loc[pd.to_numeric(groupes["nombre_operations"], errors="coerce").fillna(0) > 0,
                               couleur_par]
        return cls(comptes[comptes > 0].astype(int), frozenset(presents.astype(str)))


@dataclass(frozen=True)
class SelectionCarte:
    """Ce que la carte envoie pour une vue : ``mode`` « agregats » (un cercle par commune) ou « operations »
    (``points`` : les opérations de l'emprise, ``plafond`` au plus) ; ``total`` : opérations de l'emprise."""

    mode: str
    points: pd.DataFrame
    total: int
    plafond: int

    @property
    def plafond_atteint(self) -> bool:
        return self.mode == "operations" and self.total > self.plafond


def selectionner_operations(points: pd.DataFrame, vue: VueCarte | None) -> SelectionCarte:
    """Sous le zoom des opérations (ou sans vue) : agrégats par commune ; au-delà : les opérations dont le point
    est dans l'emprise, les plus grandes d'abord, ``plafond_operations`` au plus (``vues/cartes_bornees.json``)."""
    reglages = lire_reglages_cartes()
    plafond = int(reglages["plafond_operations"])
    if vue is None or vue.zoom < reglages["zoom_operations"] or points is None or points.empty:
        vides = points.iloc[0:0] if points is not None else None
        mode = "agregats" if vue is None or vue.zoom < reglages["zoom_operations"] else "operations"
        return SelectionCarte(mode, vides, 0 if points is None else len(points) * (mode == "agregats"), plafond)
    xmin, ymin, xmax, ymax = vue.emprise
    lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    dedans = points[(lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax)]
    return SelectionCarte("operations", dedans.head(plafond), len(dedans), plafond)


def decrire_selection(selection: SelectionCarte) -> str:
    """Phrase française sur ce que montre la carte (agrégats, opérations, plafond atteint)."""
    seuil = lire_reglages_cartes()["zoom_operations"]
    if selection.mode == "agregats":
        return (f"Opérations regroupées par commune (cercles : nombre d'opérations). Zoomez (niveau {seuil} ou "
                "plus) ou cliquez sur un cercle pour voir les opérations une à une.")
    if selection.total == 0:
        return "Aucune opération dans cette partie de la carte : déplacez la carte ou dézoomez."
    if selection.plafond_atteint:
        return (f"{formater_nombre(selection.total)} opérations dans cette partie de la carte : seules les "
                f"{formater_nombre(selection.plafond)} plus grandes (surface désimperméabilisée) sont affichées. "
                "Zoomez pour les voir toutes.")
    return (f"{formater_nombre(selection.total)} opération(s) dans cette partie de la carte. Cliquez sur une "
            "opération pour voir sa fiche.")


def _decrire_agregat(ligne: pd.Series) -> str:
    """Info-bulle d'un cercle de commune (HTML échappé) : nom, nombre et surface, libellés du catalogue."""
    return "<br>".join([
        f"<b>{html.escape(str(ligne['nom']))}</b>",
        html.escape(formater_valeur("nombre_operations", ligne["nombre"])),
        html.escape(f"{libelle('surface_desimpermeabilisee')} : "
                    f"{formater_valeur('surface_desimpermeabilisee', ligne['surface'])}")])


class CoucheAgregats(MacroElement):
    """Un cercle par commune (classe SVG ``desimper-agregat``, surface proportionnelle au nombre d'opérations),
    son nombre en étiquette, nom, nombre et surface en info-bulle ; un clic zoome sur la commune jusqu'au niveau
    des opérations. Le clic renvoie seulement le code de la commune (propriété ``agregat``)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var groupe = {{ this._parent.get_name() }};
          var style = {{ this.style | tojson }};
          {{ this.donnees | tojson }}.forEach(function (d) {
            var cercle = L.circleMarker([d[1], d[0]], {radius: d[2], color: style.contour, weight: 1.5,
              fillColor: style.remplissage, fillOpacity: style.opacite, className: "desimper-agregat"});
            cercle.feature = {type: "Feature", properties: {agregat: d[3]}};
            cercle.bindTooltip(d[5]);
            cercle.on("click", function () {
              var carte = cercle._map;
              if (carte) { carte.setView(cercle.getLatLng(), Math.max(carte.getZoom(), {{ this.zoom }})); }
            });
            groupe.addLayer(cercle);
            groupe.addLayer(L.marker([d[1], d[0]], {interactive: false, keyboard: false, icon: L.divIcon({
              className: "desimper-agregat-etiquette", iconSize: [56, 16], html: "<span style='display:block;"
                + "text-align:center;font:600 12px/16px sans-serif;color:" + style.etiquette + ";text-shadow:"
                + "0 0 2px #000,0 0 2px #000'>" + d[4] + "</span>"})}));
          });
        })();
        {% endmacro %}
    """)

    def __init__(self, agregats: pd.DataFrame):
        super().__init__()
        self._name = "CoucheAgregats"
        reglages = lire_reglages_cartes()
        self.zoom = int(reglages["zoom_operations"])
        self.style = lire_styles()["agregat"]
        plus_grand = max(float(agregats["nombre"].max()), 1.0) if len(agregats) else 1.0
        petit, grand = reglages["rayon_agregat_min_px"], reglages["rayon_agregat_max_px"]
        self.donnees = [
            [float(l["lon"]), float(l["lat"]), round(petit + (grand - petit) * float(np.sqrt(l["nombre"] / plus_grand)),
                                                     1),
             str(l["code_insee"]), html.escape(formater_nombre(l["nombre"])), _decrire_agregat(l)]
            for _, l in agregats.iterrows()]


class BandeauCarte(MacroElement):
    """Message affiché en haut de la carte tant que sa couche parente y est (ex. plafond d'opérations atteint)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
          var groupe = {{ this._parent.get_name() }};
          var bandeau = null;
          function montrer(carte) {
            if (bandeau || !carte) { return; }
            bandeau = L.DomUtil.create("div", "desimper-bandeau", carte.getContainer());
            bandeau.setAttribute("role", "status");
            bandeau.textContent = {{ this.message | tojson }};
            bandeau.style.cssText = "position:absolute; bottom:24px; left:50%; transform:translateX(-50%);"
              + "max-width:70%; z-index:1001; padding:4px 8px; border-radius:6px; pointer-events:none;"
              + "background:rgba(255,248,225,0.95); color:#5d4037; border:1px solid #e0b252;"
              + "font:12px/1.3 sans-serif; text-align:center;";
          }
          groupe.on("add", function () { montrer(groupe._map); });
          groupe.on("remove", function () { if (bandeau) { bandeau.remove(); bandeau = null; } });
          if (groupe._map) { montrer(groupe._map); }
        })();
        {% endmacro %}
    """)

    def __init__(self, message: str):
        super().__init__()
        self._name = "BandeauCarte"
        self.message = message


def construire_couche_operations(selection: SelectionCarte, agregats: pd.DataFrame | None,
                                 couleur_par: str = "type_site") -> folium.FeatureGroup:
    """Couche des opérations pour une vue (remplaçable sans recréer la carte) : cercles des communes
    (:class:`CoucheAgregats`) ou opérations de l'emprise (:func:`ajouter_operations`), bandeau si le plafond est
    atteint."""
    groupe = folium.FeatureGroup(name="Opérations", control=False)
    if selection.mode == "agregats":
        if agregats is not None and len(agregats):
            groupe.add_child(CoucheAgregats(agregats))
    else:
        ajouter_operations(groupe, selection.points, couleur_par)
        if selection.plafond_atteint:
            groupe.add_child(BandeauCarte(decrire_selection(selection)))
    return groupe


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


def construire_fond_bassin(communes: gpd.GeoDataFrame, resume: ResumeOperations, hauteur: str = "100%",
                           choroplethe: Choroplethe | None = None, couleur_par: str = "type_site",
                           image: dict | None = None) -> folium.Map:
    """Carte du bassin sans ses opérations : communes (colorées par un indicateur si donné, nombre d'opérations
    en info-bulle), image facultative (chaleur), légende des cercles et des types ou statuts présents. Les
    opérations viennent à part (:func:`construire_couche_operations`), selon la vue.

    ``resume`` : :class:`ResumeOperations` (nombre par commune, modalités présentes de ``couleur_par``) ;
    ``image`` : ``{"uri", "bornes", "titre", "legende"}``.
    """
    emprise = tuple(en_wgs84(communes).total_bounds)
    carte = creer_carte_vide(emprise, hauteur)
    ajouter_communes(carte, communes, resume.comptes, choroplethe, transparentes=image is not None)
    if image is not None:
        ajouter_image(carte, image["uri"], image["bornes"], image["titre"], image["legende"])
    styles = lire_styles()
    presents = resume.presents
    if couleur_par == "type_site":
        titre, libelles, couleurs = "Type de site", lire_types_site(), styles["types_site"]
    else:
        titre, libelles, couleurs = "Statut", STATUTS, styles["statuts"]
    entrees = [(libelle, couleurs[code]) for code, libelle in libelles.items() if code in presents]
    if entrees:
        entrees.insert(0, ("Opérations d'une commune (nombre)", styles["agregat"]["remplissage"]))
        Legende(titre, entrees, position="top:10px; right:10px;").add_to(carte)
    return carte


def construire_carte_bassin(communes: gpd.GeoDataFrame, operations: gpd.GeoDataFrame,
                            hauteur: str = "100%", choroplethe: Choroplethe | None = None,
                            couleur_par: str = "type_site", image: dict | None = None,
                            vue: VueCarte | None = None, surfaces: pd.Series | None = None) -> folium.Map:
    """Carte du bassin d'un seul tenant (fond et opérations pour la vue ``vue``) : cercles par commune sous le
    zoom des opérations ou sans vue, opérations de l'emprise au-delà (:func:`selectionner_operations`).

    ``surfaces`` : surface désimperméabilisée par identifiant d'opération (voir
    :func:`preparer_points_operations`). Les pages envoient le fond une fois et la couche des opérations à part.
    """
    points = preparer_points_operations(operations, surfaces)
    carte = construire_fond_bassin(communes, ResumeOperations.depuis_points(points, couleur_par), hauteur,
                                   choroplethe, couleur_par, image)
    selection = selectionner_operations(points, vue)
    agregats = agreger_operations(points, communes) if selection.mode == "agregats" else None
    construire_couche_operations(selection, agregats, couleur_par).add_to(carte)
    return carte


def limiter_zones(zones: gpd.GeoDataFrame, plafond: int | None = None) -> tuple[gpd.GeoDataFrame, int, int]:
    """Zones à dessiner sur la carte d'une commune : celles des plus grandes opérations (surface totale des zones)
    d'abord, toutes les zones d'une opération ou aucune, ``plafond_zones_commune`` zones au plus
    (``vues/cartes_bornees.json``). Renvoie (zones gardées, nombre d'opérations, nombre d'opérations gardées)."""
    plafond = int(lire_reglages_cartes()["plafond_zones_commune"] if plafond is None else plafond)
    if zones is None or zones.empty:
        return zones, 0, 0
    par_operation = zones.groupby("operation_id").agg(surface=("surface_m2", "sum"), zones=("surface_m2", "size"))
    par_operation = par_operation.sort_values(["surface"], ascending=False, kind="stable")
    gardees = par_operation.index[par_operation["zones"].cumsum().to_numpy() <= plafond]
    return zones[zones["operation_id"].isin(gardees).to_numpy(bool)], len(par_operation), len(gardees)


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


def ajouter_parcelles_potentiel(carte: folium.Map, parcelles: gpd.GeoDataFrame) -> folium.GeoJson | None:
    """Parcelles (ou îlots, s'il y a une colonne ``ilot``) colorées par classe de potentiel de
    désimperméabilisation (fort, moyen, faible, exclu, inconnu) ; classe, score et motifs (critères et contraintes,
    texte échappé) en info-bulle et en fenêtre au clic (téléphone)."""
    if parcelles is None or parcelles.empty:
        return None
    couleurs = lire_styles()["potentiel"]
    classes = parcelles["classe_potentiel"].astype(str)
    par_ilot = "ilot" in parcelles.columns
    table = gpd.GeoDataFrame({
        "id": [html.escape(str(v)) for v in parcelles["ilot" if par_ilot else "id"]],
        "classe": [html.escape(CLASSES_POTENTIEL.get(c, c)) for c in classes],
        "score": ["—" if pd.isna(v) else formater_nombre(float(v), 0) for v in parcelles["score_potentiel"]],
        "motifs": [html.escape(str(m)).replace(" ; ", "<br>") for m in parcelles["motifs"]],
        "couleur": classes.map(couleurs).fillna(lire_styles()["sans_donnee"]).to_numpy(),
    }, geometry=en_wgs84(en_lambert93(parcelles.geometry).simplify(0.5)).to_numpy(), crs=4326)
    champs = ["id", "classe", "score", "motifs"]
    alias = ["Îlot" if par_ilot else "Parcelle", "Potentiel", "Score (0–100)", "Motifs"]
    style_bulle = "max-width: min(360px, 80vw); white-space: normal;"
    couche = folium.GeoJson(
        alleger_geometries(table).to_json(drop_id=True),
        name="Potentiel des îlots" if par_ilot else "Potentiel de désimperméabilisation",
        style_function=lambda f: {"color": "#33691e", "weight": 0.6, "fillColor": f["properties"]["couleur"],
                                  "fillOpacity": 0.75, "className": "desimper-potentiel"},
        tooltip=folium.GeoJsonTooltip(champs, aliases=alias, style=style_bulle),
        popup=folium.GeoJsonPopup(champs, aliases=alias, style=style_bulle),
    )
    couche.add_to(carte)
    presentes = set(classes)
    entrees = [(libelle.capitalize(), couleurs[code]) for code, libelle in CLASSES_POTENTIEL.items()
               if code in presentes]
    Legende("Potentiel", entrees, position="bottom:24px; left:10px;", forme="carre").add_to(carte)
    return couche


def construire_carte_scenario(communes: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, hauteur: str = "100%"
                              ) -> folium.Map:
    """Carte d'un scénario : contours des communes de ses sites et sites colorés par l'avis des communes (proposé,
    faisable, non faisable, déjà prévu, accepté), numéro, commune, parcelle, revêtements, année et surface en
    info-bulle et au clic (textes échappés)."""
    presentes = communes[communes["code_insee"].isin(set(sites["code_insee"].astype(str))).to_numpy(bool)] \
        if len(sites) else communes
    carte = creer_carte_vide(tuple(en_wgs84(sites if len(sites) else presentes).total_bounds), hauteur)
    style = lire_styles()["commune"]
    folium.GeoJson(alleger_geometries(presentes[["code_insee", "geometry"]]).to_json(drop_id=True), name="Communes",
                   style_function=lambda _: {"color": style["contour"], "weight": 2, "fill": False,
                                             "className": "desimper-commune"}).add_to(carte)
    if len(sites):
        couleurs = lire_styles()["avis_site"]
        revetements = lire_revetements()["libelle"]
        table = gpd.GeoDataFrame({
            "site": [f"n° {int(v)}" for v in sites["site_id"]],
            "commune": [html.escape(str(c)) for c in sites["code_insee"]],
            "parcelle": [html.escape(str(v)) if isinstance(v, str) and v else "zone dessinée"
                         for v in sites["parcelle_id"]],
            "changement": [html.escape(f"{revetements.get(a, a)} → {revetements.get(b, b)}")
                           for a, b in zip(sites["revetement_avant"], sites["revetement_apres"])],
            "annee": [str(int(a)) for a in sites["annee"]],
            "surface": [formater_nombre(float(v), 0, "m²") for v in sites["surface_m2"]],
            "avis": [html.escape(LIBELLES_AVIS.get(a, a)) for a in sites["avis"]],
            "couleur": sites["avis"].map(couleurs).fillna(lire_styles()["sans_donnee"]).to_numpy(),
        }, geometry=sites.geometry.to_numpy(), crs=4326)
        champs = ["site", "commune", "parcelle", "changement", "annee", "surface", "avis"]
        alias = ["Site", "Commune", "Parcelle", "Revêtements", "Année", "Surface", "Avis"]
        bulle = "max-width: min(360px, 80vw); white-space: normal;"
        folium.GeoJson(alleger_geometries(table).to_json(drop_id=True), name="Sites du scénario",
                       style_function=lambda f: {"color": "#1b5e20", "weight": 1,
                                                 "fillColor": f["properties"]["couleur"], "fillOpacity": 0.8,
                                                 "className": "desimper-site-scenario"},
                       tooltip=folium.GeoJsonTooltip(champs, aliases=alias, style=bulle),
                       popup=folium.GeoJsonPopup(champs, aliases=alias, style=bulle)).add_to(carte)
        entrees = [(LIBELLES_AVIS[a].split(" (")[0].capitalize(), couleurs[a]) for a in LIBELLES_AVIS
                   if a in set(sites["avis"])]
        Legende("Avis des communes", entrees, position="bottom:24px; left:10px;", forme="carre").add_to(carte)
    return carte


def construire_carte_commune(commune: gpd.GeoDataFrame, zones: gpd.GeoDataFrame,
                             parcelles: gpd.GeoDataFrame | None = None, hauteur: str = "100%",
                             cadrer_sur_zones: bool = False,
                             emprise: tuple[float, float, float, float] | None = None,
                             fond: str | None = None, potentiel: gpd.GeoDataFrame | None = None) -> folium.Map:
    """Carte d'une commune : contour, parcelles prioritaires ou potentiel des parcelles (facultatifs) et zones des
    opérations.

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
    if potentiel is not None:
        ajouter_parcelles_potentiel(carte, potentiel)
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
