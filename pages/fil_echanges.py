"""Fil d'échanges sous une opération et sous son retour d'expérience (issue 16) : messages, question ou réponse,
suivi du fil, modération par le syndicat. Widget partagé par la fiche et la galerie des retours (même fil : celui
de l'opération). Les droits sont demandés à la couche de données ; le texte des membres est affiché comme du texte
(``st.text`` ou échappé), jamais interprété."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from donnees.droits import peut
from donnees.erreurs import ErreurDonnees
from donnees.format import formater_horodatage
from donnees.magasin.echanges import LIBELLES_GENRE_MESSAGE
from donnees.magasin.notifications import lire_parametres_echanges
from pages import commun
from vues.format import echapper_markdown

GENRES_PROPOSES = {"reponse": "Réponse", "question": "Question"}


def afficher_fil(facade, operation_id: int, code_insee: str, cle: str, messages: pd.DataFrame | None = None,
                 suivi: bool | None = None) -> None:
    """Fil de l'opération ``operation_id`` (commune ``code_insee``) ; rien pour qui ne peut pas lire les échanges
    (le public ne voit ni les messages ni leur nombre). ``messages`` et ``suivi`` : déjà lus par l'appelant
    (galerie), sinon lus ici. ``cle`` : préfixe unique des widgets."""
    u = facade.utilisateur
    if not peut(u, "lire_echanges", noms_communes=facade.noms_communes):
        return
    message = st.session_state.pop(f"{cle}_message", None)
    if message:
        st.success(message)
    try:
        if messages is None:
            messages = facade.lire_fil(int(operation_id))
        if suivi is None:
            suivi = facade.suit_fil(int(operation_id))
    except ErreurDonnees as erreur:
        st.info(str(erreur))
        return
    if peut(u, "suivre_fil"):
        if suivi:
            if st.button("Ne plus suivre ce fil", key=f"{cle}_ne_plus_suivre", icon=":material/notifications_off:",
                         help="Vous ne serez plus notifié des nouveaux messages de ce fil."):
                commun.executer_ecriture(lambda: facade.ne_plus_suivre_fil(int(operation_id)),
                                         "Vous ne suivez plus ce fil.", f"{cle}_message")
        elif st.button("Suivre ce fil", key=f"{cle}_suivre", icon=":material/notifications_active:",
                       help="Chaque nouveau message de ce fil vous sera notifié (page Notifications)."):
            commun.executer_ecriture(lambda: facade.suivre_fil(int(operation_id)),
                                     "Vous suivez ce fil : chaque nouveau message vous sera notifié.", f"{cle}_message")
    if messages.empty:
        st.caption("Aucun message pour l'instant.")
    moderateur = peut(u, "moderer_echanges")
    for ligne in messages.itertuples(index=False):
        _afficher_message(facade, ligne, moderateur, cle)
    _afficher_saisie(facade, u, operation_id, code_insee, cle)


def _afficher_message(facade, ligne, moderateur: bool, cle: str) -> None:
    with st.container(border=True):
        st.caption(" · ".join([LIBELLES_GENRE_MESSAGE.get(ligne.genre, ligne.genre),
                               echapper_markdown(ligne.auteur_nom), formater_horodatage(ligne.cree_le)]))
        if ligne.masque:
            st.caption(f"Masqué par {echapper_markdown(ligne.masque_par)} le {formater_horodatage(ligne.masque_le)} "
                       f"— motif : {echapper_markdown(ligne.motif_masquage)}")
            st.caption(echapper_markdown(ligne.texte))  # grisé : le syndicat seul le voit encore
        else:
            st.text(ligne.texte)
        if not moderateur:
            return
        if ligne.masque:
            if st.button("Restaurer", key=f"{cle}_restaurer_{ligne.id}", icon=":material/visibility:"):
                commun.executer_ecriture(lambda: facade.restaurer_message(int(ligne.id)),
                                         f"Message n° {ligne.id} restauré.", f"{cle}_message")
            return
        with st.expander("Masquer ce message"):
            motif = st.text_input("Motif (obligatoire, gardé au journal)", key=f"{cle}_motif_{ligne.id}",
                                  max_chars=lire_parametres_echanges()["longueur_max_motif"])
            if st.button("Masquer", key=f"{cle}_masquer_{ligne.id}", icon=":material/visibility_off:"):
                commun.executer_ecriture(lambda: facade.masquer_message(int(ligne.id), motif),
                                         f"Message n° {ligne.id} masqué.", f"{cle}_message")


def _afficher_saisie(facade, u, operation_id: int, code_insee: str, cle: str) -> None:
    noms = facade.noms_communes
    repondre = peut(u, "repondre_fil", code_insee, noms_communes=noms)
    questionner = peut(u, "poser_question", noms_communes=noms)
    if not (repondre or questionner):
        st.caption("Votre rôle permet de lire les échanges, pas d'y écrire.")
        return
    limite = lire_parametres_echanges()["longueur_max_message"]
    with st.form(f"{cle}_formulaire", clear_on_submit=True, border=False):
        texte = st.text_area("Votre réponse" if repondre else "Votre question", key=f"{cle}_texte", max_chars=limite,
                             placeholder="ex. Du broyat de la commune, sur 10 cm, renouvelé chaque hiver." if repondre
                             else "ex. Quel paillage avez-vous choisi sous les arbres ?")
        genre = "question"
        if repondre:
            genre = st.radio("Genre", list(GENRES_PROPOSES), format_func=GENRES_PROPOSES.get, horizontal=True,
                             key=f"{cle}_genre")
        if st.form_submit_button("Publier", key=f"{cle}_publier", icon=":material/send:"):
            commun.executer_ecriture(
                lambda: facade.publier_message(int(operation_id), texte, genre),
                "Réponse publiée." if genre == "reponse" else
                "Question publiée : les référents de la commune sont notifiés, et vous suivez ce fil.",
                f"{cle}_message")
