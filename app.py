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

territoire = commun.verifier_donnees_pretes()
commun.afficher_barre_laterale(territoire)
if territoire is None:
    st.stop()
commun.afficher_filtres(territoire)

navigation = st.navigation([
    st.Page("pages/vue_ensemble.py", title="Vue d'ensemble", icon=":material/dashboard:", default=True),
    st.Page("pages/carte.py", title="Carte", icon=":material/map:"),
    st.Page("pages/commune.py", title="Commune", icon=":material/location_city:"),
    st.Page("pages/fiche.py", title="Fiche opération", icon=":material/description:"),
    st.Page("pages/operations.py", title="Opérations", icon=":material/table_rows:"),
    st.Page("pages/saisie.py", title="Saisir une opération", icon=":material/edit_square:"),
    st.Page("pages/importer.py", title="Importer", icon=":material/upload_file:"),
    st.Page("pages/retours.py", title="Retours d'expérience", icon=":material/forum:"),
    st.Page("pages/indicateurs.py", title="Indicateurs", icon=":material/bar_chart:"),
    st.Page("pages/methode.py", title="Méthode", icon=":material/functions:"),
    st.Page("pages/administration.py", title="Administration", icon=":material/admin_panel_settings:"),
    st.Page("pages/connexion.py", title="Connexion", icon=":material/login:"),
])
navigation.run()
