"""Fiches d'opération en HTML pour les fenêtres des cartes : tout texte saisi est échappé."""

from __future__ import annotations

import html

import pandas as pd

from donnees.nomenclatures import STATUTS, lire_types_site
from indicateurs.catalogue import formater_valeur

CHIFFRES_FICHE = ["surface_desimpermeabilisee", "volume_infiltre", "cout_total_ht", "taux_aide"]
# Chiffres tirés des zones : inconnus (et non affichés) pour une opération à localisation approximative.
CHIFFRES_GEOMETRIQUES = {"surface_desimpermeabilisee", "volume_infiltre"}


def _est_approximative(operation: pd.Series) -> bool:
    """Vrai si l'opération est placée au centre de sa commune faute de géométrie (valeur absente : faux)."""
    valeur = operation.get("localisation_approximative", False)
    return bool(valeur) if valeur is not None and not pd.isna(valeur) else False


def construire_fiche_html(operation: pd.Series, indicateurs: pd.Series | None, vignette: str | None,
                          lien: str | None) -> str:
    """Fiche courte : nom, type, statut, année, chiffres clés, vignette « après » et lien vers la fiche."""
    types = lire_types_site()
    nom = html.escape(str(operation["nom"]))
    annee = operation.get("annee")
    sous_titre = " · ".join(filter(None, [
        html.escape(types.get(operation["type_site"], str(operation["type_site"]))),
        html.escape(STATUTS.get(operation["statut"], str(operation["statut"]))),
        str(int(annee)) if annee is not None and not pd.isna(annee) else None]))
    lignes = []
    if indicateurs is not None:
        for code in CHIFFRES_FICHE:
            if _est_approximative(operation) and code in CHIFFRES_GEOMETRIQUES:
                continue  # sans géométrie, surface et volume sont inconnus, pas nuls
            if code in indicateurs.index and not pd.isna(indicateurs[code]):
                libelle = {"surface_desimpermeabilisee": "Désimperméabilisé", "volume_infiltre": "Infiltré",
                           "cout_total_ht": "Coût HT", "taux_aide": "Aides"}[code]
                lignes.append(f"<tr><td>{libelle}</td><td style='text-align:right'>"
                              f"{html.escape(formater_valeur(code, indicateurs[code]))}</td></tr>")
    image = (f"<img src='{vignette}' alt='Photo après travaux' style='width:100%;max-width:200px;"
             "border-radius:4px;margin:4px 0'>" if vignette else "")
    approximatif = ("<div style='color:#a15c00'>Localisation approximative</div>"
                    if _est_approximative(operation) else "")
    bouton = (f"<a href='{html.escape(lien, quote=True)}' target='_top'>Voir la fiche</a>" if lien else "")
    return (f"<div class='desimper-fiche' style='font:13px/1.35 sans-serif;min-width:200px'>"
            f"<div style='font-weight:600;font-size:14px'>{nom}</div>"
            f"<div style='color:#555'>{sous_titre}</div>{approximatif}{image}"
            f"<table style='width:100%'>{''.join(lignes)}</table>{bouton}</div>")


def construire_fiche_imprimable(operation: pd.Series, commune: str, indicateurs: pd.Series | None,
                                photos: list[tuple[str, str, str]]) -> str:
    """Page HTML autonome et imprimable d'une opération (textes échappés, photos en data URI).

    ``photos`` : liste de (moment, légende, data URI).
    """
    types = lire_types_site()

    def texte(champ: str) -> str:
        valeur = operation.get(champ)
        return html.escape(str(valeur)) if isinstance(valeur, str) and valeur.strip() else ""

    chiffres = "".join(
        f"<tr><th>{html.escape(titre)}</th><td>{html.escape(formater_valeur(code, indicateurs[code]))}</td></tr>"
        for code, titre in (("surface_desimpermeabilisee", "Surface désimperméabilisée"),
                            ("volume_infiltre", "Volume infiltré supplémentaire"),
                            ("cout_total_ht", "Coût HT"), ("taux_aide", "Taux d'aide"))
        if indicateurs is not None and code in indicateurs.index and not pd.isna(indicateurs[code])
        and not (_est_approximative(operation) and code in CHIFFRES_GEOMETRIQUES))
    images = "".join(f"<figure><img src='{uri}' alt='{html.escape(moment)}'><figcaption>{html.escape(moment)} — "
                     f"{html.escape(legende)}</figcaption></figure>" for moment, legende, uri in photos)
    sections = "".join(f"<h2>{titre}</h2><p>{texte(champ)}</p>" for titre, champ in
                       (("Description", "description"), ("Retour d'expérience", "retour_experience"),
                        ("Contact", "contact")) if texte(champ))
    annee = operation.get("annee")
    approximatif = ("<p class='approx'>Localisation approximative : opération placée au centre de la commune, "
                    "sans contour connu ; sa surface n'est pas comptée dans les indicateurs.</p>"
                    if _est_approximative(operation) else "")
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>{texte('nom')}</title>
<style>body{{font:14px/1.45 sans-serif;max-width:800px;margin:2em auto;color:#1d2b24}}
h1{{font-size:1.6em;margin-bottom:.2em}} .sous{{color:#555}} table{{border-collapse:collapse;margin:1em 0}}
th,td{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}} figure{{display:inline-block;margin:.5em}}
img{{max-width:360px;border-radius:4px}} .approx{{color:#a15c00}} @media print{{body{{margin:0}}}}</style></head><body>
<h1>{texte('nom')}</h1>
<div class="sous">{html.escape(commune)} · {html.escape(types.get(operation.get('type_site'), ''))}
{' · ' + str(int(annee)) if annee is not None and not pd.isna(annee) else ''}</div>
{approximatif}<table>{chiffres}</table>{images}{sections}
<p class="sous">Fiche issue du registre Désimper.</p></body></html>"""
