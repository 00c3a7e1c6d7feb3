"""Figures plotly : mise en page commune (lisible au vidéoprojecteur), trajectoire, barres.

Nombres à la française (séparateurs « , » décimal et espace pour les milliers).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from vues.cartes import lire_styles
from vues.format import echapper_balises, formater_nombre

SEPARATEURS_FR = ", "
POLICE = dict(family="Source Sans Pro, DejaVu Sans, sans-serif", size=15, color="#1d2b24")


def mettre_en_page(figure: go.Figure, titre_y: str, titre_x: str | None = None, hauteur: int = 420) -> go.Figure:
    """Mise en page commune : fond blanc, police lisible, légende en haut, séparateurs français."""
    figure.update_layout(template="plotly_white", separators=SEPARATEURS_FR, font=POLICE, height=hauteur,
                         margin=dict(l=10, r=10, t=40, b=10), hovermode="x unified",
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    figure.update_yaxes(title_text=titre_y, rangemode="tozero", tickformat=",~r")
    figure.update_xaxes(title_text=titre_x)
    return habiller_figure(figure)


ANNEES_PLAUSIBLES = (1900, 2100)


def _axe_des_annees(valeurs) -> bool:
    """Vrai si les valeurs sont des années entières (1900–2100) : affichées « 2018 », jamais « 2 018 »."""
    serie = pd.to_numeric(pd.Series(list(valeurs) if valeurs is not None else []), errors="coerce")
    if serie.empty or serie.isna().any():
        return False
    return bool(((serie % 1 == 0) & serie.between(*ANNEES_PLAUSIBLES)).all())


def _echapper_textes(trace) -> None:
    """Noms saisis (communes, opérations) dans les catégories et textes d'une trace : balises neutralisées
    (:func:`vues.format.echapper_balises`), jamais de lien ni d'image dans une figure."""
    for attribut in ("x", "y", "text", "hovertext"):
        valeurs = getattr(trace, attribut, None)
        if valeurs is None or isinstance(valeurs, str) or not any(isinstance(v, str) for v in valeurs):
            continue
        setattr(trace, attribut, [echapper_balises(v) for v in valeurs])


def habiller_figure(figure: go.Figure) -> go.Figure:
    """Habillage français commun à toute figure (idempotent) : séparateurs « , » et espace, police, années sans
    séparateur sur les axes et au survol, infobulle française par défaut (valeur et nom de la série), balises
    des textes saisis neutralisées."""
    figure.update_layout(separators=SEPARATEURS_FR, font=POLICE,
                         hoverlabel=dict(font=dict(family=POLICE["family"], size=14)))
    for trace in figure.data:
        _echapper_textes(trace)
        horizontal = getattr(trace, "orientation", None) == "h"
        categories = getattr(trace, "y" if horizontal else "x", None)  # axe des catégories ou du temps
        if categories is not None and _axe_des_annees(categories):
            if horizontal:
                figure.update_yaxes(tickformat="d", hoverformat="d")
            else:
                figure.update_xaxes(tickformat="d", hoverformat="d")
        if hasattr(trace, "hovertemplate") and trace.hovertemplate is None:
            valeur, categorie = ("x", "y") if horizontal else ("y", "x")
            trace.hovertemplate = f"%{{{categorie}}} : %{{{valeur}:,.~r}}<extra></extra>"
    return figure


# Colonnes lues par figure_trajectoire (la page ne passe qu'elles : petite clé de cache de la figure).
COLONNES_TRAJECTOIRE = ["annee", "surface_cumulee", "surface_cumulee_projetee", "objectif_cumule"]


def figure_trajectoire(trajectoire: pd.DataFrame, titre_y: str, annee_reference: int | None = None) -> go.Figure:
    """Surface cumulée réalisée, projection (en travaux + programmées) et objectif, par année.

    ``trajectoire`` : colonnes ``annee``, ``surface_cumulee``, ``surface_cumulee_projetee``,
    ``objectif_cumule`` (m²) d'un territoire.
    """
    couleurs = lire_styles()["trajectoire"]
    table = trajectoire.sort_values("annee")
    annees = table["annee"].astype(int)
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=annees, y=table["objectif_cumule"], name="Objectif",
                                line=dict(color=couleurs["objectif"], width=3, dash="dot"),
                                hovertemplate="%{y:,.0f} m²"))
    figure.add_trace(go.Scatter(x=annees, y=table["surface_cumulee_projetee"],
                                name="Projection (avec en travaux et programmées)",
                                line=dict(color=couleurs["projection"], width=3, dash="dash"),
                                hovertemplate="%{y:,.0f} m²"))
    figure.add_trace(go.Scatter(x=annees, y=table["surface_cumulee"], name="Réalisé", mode="lines+markers",
                                line=dict(color=couleurs["realise"], width=4), hovertemplate="%{y:,.0f} m²"))
    if annee_reference is not None:
        figure.add_vline(x=annee_reference, line=dict(color="#9aa5a0", width=1))
    figure.update_xaxes(dtick=1)
    return mettre_en_page(figure, titre_y)


def figure_trajectoires_scenarios(trajectoires: dict[str, pd.DataFrame], titre_y: str) -> go.Figure:
    """Surface cumulée projetée (réalisées + ajoutées, m²) de chaque scénario par année, et l'objectif du bassin.

    ``trajectoires`` : nom → table ``annee``, ``surface_cumulee_projetee``, ``objectif_cumule`` (la première donne
    l'objectif)."""
    styles = lire_styles()
    palette = [styles["trajectoire"]["projection"], styles["accent"], "#7b3294", "#e66101", "#5e3c99"]
    figure = go.Figure()
    for rang, (nom, table) in enumerate(trajectoires.items()):
        table = table.sort_values("annee")
        if rang == 0:
            figure.add_trace(go.Scatter(x=table["annee"].astype(int), y=table["objectif_cumule"], name="Objectif",
                                        line=dict(color=styles["trajectoire"]["objectif"], width=3, dash="dot"),
                                        hovertemplate="%{y:,.0f} m²"))
        figure.add_trace(go.Scatter(x=table["annee"].astype(int), y=table["surface_cumulee_projetee"], name=nom,
                                    line=dict(color=palette[rang % len(palette)], width=3,
                                              dash="dash" if rang == 0 else "solid"),
                                    hovertemplate="%{y:,.0f} m²"))
    figure.update_xaxes(dtick=1)
    return mettre_en_page(figure, titre_y)


def figure_barres(table: pd.DataFrame, x: str, y: str, titre_y: str, couleur: str | None = None,
                  horizontal: bool = False, hauteur: int = 420, unite: str = "",
                  surlignes: list[str] | None = None) -> go.Figure:
    """Barres simples d'une colonne (valeurs au survol avec leur unité) ; ``surlignes`` : étiquettes de
    ``x`` à mettre en évidence (ex. la commune choisie parmi les autres)."""
    styles = lire_styles()
    survol = "%{y:,.0f} " + unite if not horizontal else "%{x:,.0f} " + unite
    couleurs = couleur or styles["accent"]
    if surlignes:
        couleurs = [styles["surligne"] if v in set(surlignes) else styles["attenue"] for v in table[x]]
    trace = go.Bar(x=table[y] if horizontal else table[x], y=table[x] if horizontal else table[y],
                   orientation="h" if horizontal else "v", marker_color=couleurs,
                   hovertemplate=survol + "<extra></extra>")
    figure = go.Figure(trace)
    mettre_en_page(figure, titre_y if not horizontal else None, titre_y if horizontal else None, hauteur)
    if horizontal:
        figure.update_yaxes(autorange="reversed", title_text=None, tickformat=None, rangemode=None)
        figure.update_xaxes(tickformat=",~r")
    return figure


def figure_barres_realise_programme(table: pd.DataFrame, titre_y: str, unite: str = "",
                                    hauteur: int = 420) -> go.Figure:
    """Barres par année empilées : « Réalisé » (plein) et « Programmé ou en travaux (projection) » (hachuré).

    ``table`` : colonnes ``annee``, ``realise`` et ``programme`` (même unité). Années sans séparateur.
    """
    styles = lire_styles()
    annees = table["annee"].astype(int).astype(str)
    survol = "%{y:,.0f} " + unite + "<extra>%{fullData.name}</extra>"
    figure = go.Figure([
        go.Bar(x=annees, y=table["realise"], name="Réalisé (travaux terminés)", marker_color=styles["accent"],
               hovertemplate=survol),
        go.Bar(x=annees, y=table["programme"], name="Programmé ou en travaux (projection)",
               marker=dict(color="rgba(0,0,0,0)", line=dict(color=styles["accent"], width=1.5),
                           pattern=dict(shape="/", fgcolor=styles["accent"], solidity=0.35)),
               hovertemplate=survol)])
    mettre_en_page(figure, titre_y, hauteur=hauteur)
    figure.update_layout(barmode="stack", legend_traceorder="normal")
    figure.update_xaxes(type="category", automargin=True)
    return figure


def figure_ratio_sdage(table: pd.DataFrame, cible: float, titre: str) -> go.Figure:
    """Ratio de compensation SDAGE par commune (barres horizontales, %) et ligne de la cible (%, ex. 150 %).

    ``table`` : colonnes ``nom`` et ``ratio_compensation_sdage`` (%) ; ``cible`` en % ; barres vertes si la
    cible est atteinte.
    """
    styles = lire_styles()
    table = table.dropna(subset=["ratio_compensation_sdage"]).sort_values("ratio_compensation_sdage",
                                                                          ascending=False)
    couleurs = [styles["accent"] if r >= cible else styles["sous_cible"] for r in table["ratio_compensation_sdage"]]
    figure = go.Figure(go.Bar(x=table["ratio_compensation_sdage"], y=table["nom"], orientation="h",
                              marker_color=couleurs, hovertemplate="%{y} : %{x:,.0f} %<extra></extra>"))
    figure.add_vline(x=cible, line=dict(color="#b2182b", width=2, dash="dash"),
                     annotation_text=f"Cible SDAGE : {formater_nombre(cible)} %",
                     annotation_position="top right")
    mettre_en_page(figure, None, titre, hauteur=max(360, 26 * len(table) + 80))
    figure.update_yaxes(autorange="reversed", title_text=None, rangemode=None, tickformat=None)
    figure.update_xaxes(tickformat=",~r", ticksuffix=" %")
    figure.update_layout(hovermode="closest")
    return figure


# Boutons gardés dans la barre d'outils plotly. Le plotly.js de Streamlit n'embarque que la langue anglaise
# (config « locale: fr » sans effet) : les infobulles de ces boutons sont traduites par la feuille de style de
# pages/commun.py (TITRES_BOUTONS_PLOTLY).
BOUTONS_PLOTLY = ["toImage", "zoom2d", "pan2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "resetScale2d"]
TITRES_BOUTONS_PLOTLY = {
    "Download plot as a PNG": "Télécharger l'image (PNG)", "Download plot": "Télécharger l'image",
    "Zoom": "Zoomer sur une zone", "Pan": "Déplacer", "Zoom in": "Zoom avant", "Zoom out": "Zoom arrière",
    "Autoscale": "Ajuster à toutes les données", "Reset axes": "Revenir à la vue initiale",
    "Double-click to zoom back out": "Double-cliquez pour revenir à la vue initiale"}


def configurer_export(nom_fichier: str) -> dict:
    """Configuration plotly : bouton « télécharger en PNG » (haute définition), sans logo, boutons utiles seuls
    (infobulles traduites en français par la feuille de style de l'application)."""
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": "png", "filename": nom_fichier, "scale": 2},
            "modeBarButtons": [BOUTONS_PLOTLY]}
