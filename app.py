"""Désimper : cadre de l'application (configuration, barre latérale, navigation)."""

import sys

import streamlit as st

st.set_page_config(page_title="Désimper", page_icon="🌱", layout="wide")
if "pages.commun" not in sys.modules:  # premier passage du processus : imports lourds (geopandas, scipy…)
    # un élément écrit tout de suite (un st.spinner attendrait un fil que l'import ne laisse pas passer)
    accueil = st.empty()
    accueil.info("**Désimper** — démarrage : chargement des bibliothèques de calcul (quelques secondes, "
                 "la première fois seulement)…", icon=":material/hourglass_top:")
    from pages import commun
    accueil.empty()
from pages import commun  # noqa: E402 (après la configuration de la page : le cadre s'affiche d'abord)

commun.choisir_territoire()  # instance à plusieurs territoires : dossier et base de celui de la session
territoire = commun.verifier_donnees_pretes()
commun.afficher_barre_laterale(territoire)  # relit la session (commun.utilisateur_courant) : droits à jour
commun.ecrire_cookie_session()
if territoire is None:
    st.stop()
with commun.signaler_pannes():  # base arrêtée, disque plein en cours de route : message français, pas de trace
    commun.afficher_filtres(territoire)

    # Pages selon les droits (donnees.droits.peut) : celles que le rôle ne peut pas utiliser sont cachées.
    navigation = commun.construire_navigation()
    navigation.run()
