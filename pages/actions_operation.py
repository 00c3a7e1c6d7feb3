"""Actions sur une opération, partagées par les pages Opérations et À valider : valider, demander une
correction, modifier, supprimer (après confirmation), restaurer. Les droits sont demandés à la façade
(``donnees.droits``) et revérifiés par elle à l'écriture. Module d'aide, pas une page de la navigation."""

from __future__ import annotations

import streamlit as st

from pages import commun


def _executer(action, texte_reussite: str, cle_message: str) -> None:
    commun.executer_ecriture(action, texte_reussite, cle_message)


def afficher_confirmation_suppression(facade, operation: dict, cle_message: str, conteneur=None) -> None:
    """Bouton « Supprimer » qui ouvre une demande de confirmation : case « Je confirme » puis second bouton."""
    ident, version = int(operation["id"]), operation["version"]
    with (conteneur or st).popover("Supprimer", icon=":material/delete:"):
        st.markdown(f"Supprimer l'opération n° {ident} ? Elle sort des indicateurs et des cartes ; un "
                    "administrateur du syndicat peut la restaurer.")
        confirme = st.checkbox(f"Je confirme la suppression de l'opération n° {ident}",
                               key=f"confirmer_suppression_{ident}")
        if st.button("Supprimer l'opération", type="primary", icon=":material/delete_forever:",
                     disabled=not confirme, key=f"supprimer_{ident}"):
            _executer(lambda: facade.supprimer_operation(ident, version),
                      f"Opération n° {ident} supprimée (restaurable par un administrateur).", cle_message)


def afficher_demande_correction(facade, operation: dict, cle_message: str, conteneur=None) -> None:
    """Demande de correction : commentaire obligatoire, envoyé au référent de la commune."""
    ident, version = int(operation["id"]), operation["version"]
    with (conteneur or st).popover("Demander une correction", icon=":material/edit_note:"):
        commentaire = st.text_area("Ce qu'il faut corriger", key=f"commentaire_{ident}",
                                   help="La commune lit ce commentaire à sa connexion.")
        if st.button("Envoyer la demande", key=f"correction_{ident}"):
            _executer(lambda: facade.valider_operation(ident, version, "a_corriger", commentaire),
                      f"Correction demandée pour l'opération n° {ident}.", cle_message)


def afficher_actions(facade, operation: dict, cle_message: str, modifier: bool = True) -> None:
    """Boutons permis à l'utilisateur sur ``operation`` (dictionnaire lu par la façade)."""
    ident, code, version = int(operation["id"]), operation["code_insee"], operation["version"]
    if operation.get("supprimee"):
        if facade.peut("restaurer", code, operation) and st.button("Restaurer", type="primary",
                                                                     icon=":material/restore:"):
            _executer(lambda: facade.restaurer_operation(ident), f"Opération n° {ident} restaurée.", cle_message)
        return
    boutons = st.columns(4)
    if facade.peut("valider", code, operation) and operation["validation"] != "validee":
        if boutons[0].button("Valider", type="primary", icon=":material/check:", key=f"valider_{ident}"):
            _executer(lambda: facade.valider_operation(ident, version, "validee"),
                      f"Opération n° {ident} validée.", cle_message)
    if facade.peut("demander_correction", code, operation):
        afficher_demande_correction(facade, operation, cle_message, boutons[1])
    if facade.peut("supprimer", code, operation):
        afficher_confirmation_suppression(facade, operation, cle_message, boutons[2])
    if modifier and facade.peut("modifier", code, operation):
        if boutons[3].button("Modifier", icon=":material/edit:", key=f"modifier_{ident}"):
            st.switch_page("pages/saisie.py", query_params={"id": str(ident)})
