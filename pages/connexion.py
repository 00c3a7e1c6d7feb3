"""Page « Connexion » : ouvrir ou fermer sa session (comptes locaux, mot de passe haché argon2)."""

import streamlit as st

from donnees.comptes import ErreurAuthentification, authentifier
from donnees.droits import est_public
from donnees.nomenclatures import ROLES
from pages import commun

utilisateur = commun.utilisateur_courant()
st.title("Connexion")

if st.session_state.pop("session_expiree", False):
    st.warning("Votre session a expiré après une période d'inactivité : reconnectez-vous.")

if not est_public(utilisateur):
    st.success(f"Connecté : **{utilisateur.nom}** ({utilisateur.email}) — "
               f"{ROLES.get(utilisateur.role, utilisateur.role)}"
               + (f", communes : {commun.nommer_communes(utilisateur.communes)}" if utilisateur.communes else ""))
    if st.button("Se déconnecter", icon=":material/logout:"):
        commun.deconnecter()
        st.rerun()
    st.stop()

st.markdown("Sans compte, le tableau de bord montre les opérations **validées**, sans coûts ni données "
            "personnelles. Les agents des communes, le syndicat et les financeurs se connectent pour voir et "
            "saisir davantage, selon leur rôle.")
with st.form("connexion", clear_on_submit=False):
    email = st.text_input("Adresse électronique", autocomplete="username")
    mot_de_passe = st.text_input("Mot de passe", type="password", autocomplete="current-password")
    envoye = st.form_submit_button("Se connecter", type="primary")
if envoye:
    try:
        commun.connecter(authentifier(commun.obtenir_magasin(), email, mot_de_passe))
    except ErreurAuthentification as erreur:
        st.error(str(erreur))
    else:
        st.rerun()
st.caption("Compte oublié ou bloqué : adressez-vous à l'administrateur du syndicat de bassin.")
