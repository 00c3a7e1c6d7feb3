"""Widgets des ressources (issue 16, partie 1) partagés par la page « Ressources », la fiche d'une opération
(« Ressources liées ») et la Vue d'ensemble (« Appels à projets à échéance proche »). Les droits sont demandés à la
couche de données ; titres, résumés et noms de fichiers sont affichés comme du texte (``st.text`` ou échappés)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from donnees.erreurs import ErreurDonnees
from donnees.fichiers_ressources import lire_genres_ressource, lire_themes_ressource
from donnees.format import formater_date
from donnees.magasin.notifications import extraire
from pages import commun
from services.ressources import jours_avant
from vues.format import echapper_markdown

PAGE = "pages/ressources.py"
# Un lien de page tient sur une ligne (coupé au-delà) : titre raccourci, titre entier dans l'info-bulle, genre,
# thèmes et échéance en légende dessous (lisible à 390 px).
LONGUEUR_MAX_LIEN = 70


def decrire(ligne) -> str:
    """Ligne de légende d'une ressource : genre, thèmes, échéance (Markdown échappé)."""
    genres, themes = lire_genres_ressource(), lire_themes_ressource()
    morceaux = [genres.get(ligne["genre"], {}).get("libelle", ligne["genre"]),
                ", ".join(themes.get(t, t) for t in ligne["themes"])]
    echeance = ligne.get("echeance")
    if echeance is not None and not pd.isna(echeance):
        jours = jours_avant(echeance)
        reste = "" if jours is None or jours < 0 else (" (aujourd'hui)" if jours == 0 else f" (dans {jours} j)")
        morceaux.append(f"échéance {formater_date(echeance)}{reste}" if jours is None or jours >= 0
                        else f"échéance passée ({formater_date(echeance)})")
    return " · ".join(echapper_markdown(m) for m in morceaux if m)


def afficher_lien(ligne, icone: str) -> None:
    """Lien vers la fiche d'une ressource (titre raccourci) et sa légende (genre, thèmes, échéance)."""
    st.page_link(PAGE, label=echapper_markdown(extraire(ligne["titre"], LONGUEUR_MAX_LIEN)), icon=icone,
                 help=echapper_markdown(ligne["titre"]), query_params={"id": str(int(ligne["id"]))})
    st.caption(decrire(ligne))


def afficher_echeances_proches(facade) -> None:
    """« Appels à projets à échéance proche » (membres connectés seulement ; rien pour le public)."""
    if not facade.peut("lire_ressources_membres"):
        return
    try:
        proches = facade.lire_echeances_proches()
    except ErreurDonnees as erreur:
        st.info(str(erreur))
        return
    if proches.empty:
        return
    with st.container(border=True):
        st.markdown("**Appels à projets à échéance proche**")
        for ligne in proches.to_dict("records"):
            afficher_lien(ligne, ":material/event:")


def afficher_ressources_liees(facade, operation_id: int, cle: str) -> None:
    """Section « Ressources liées » de la fiche d'une opération ; lier une ressource existante si le rôle le
    permet."""
    st.subheader("Ressources liées", anchor="ressources")
    message = st.session_state.pop(f"{cle}_message", None)
    if message:
        st.success(message)
    try:
        liees = facade.lire_ressources_operation(int(operation_id))
    except ErreurDonnees as erreur:
        st.info(str(erreur))
        return
    if liees.empty:
        st.caption("Aucune ressource liée à cette opération (guides, fiches techniques, cahiers des charges…).")
    for ligne in liees.to_dict("records"):
        afficher_lien(ligne, ":material/menu_book:")
    if not facade.peut("lier_ressource"):
        return
    candidates = facade.lire_ressources()
    candidates = candidates[candidates["statut"].eq("publiee").to_numpy(bool)
                            & ~candidates["id"].isin(liees["id"]).to_numpy(bool)]
    if candidates.empty:
        return
    titres = dict(zip(candidates["id"].astype(int), candidates["titre"]))
    with st.expander("Lier une ressource existante"):
        choix = st.selectbox("Ressource", list(titres), format_func=lambda i: f"n° {i} — {titres[i]}",
                             key=f"{cle}_choix", index=None, placeholder="Choisissez une ressource")
        if st.button("Lier", key=f"{cle}_lier", icon=":material/link:", disabled=choix is None):
            commun.executer_ecriture(lambda: facade.lier_ressource(int(choix), int(operation_id)),
                                     "Ressource liée à l'opération.", f"{cle}_message")
