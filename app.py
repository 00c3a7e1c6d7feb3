"""Désimper : cadre de l'application (configuration, barre latérale, navigation)."""

import streamlit as st

from pages import commun

st.set_page_config(page_title="Désimper", page_icon="🌱", layout="wide")

territoire = commun.verifier_donnees_pretes()
commun.afficher_barre_laterale(territoire)
if territoire is None:
    st.stop()
commun.afficher_filtres(territoire)

# Pages selon les droits (donnees.droits.peut) : celles que le rôle ne peut pas utiliser sont cachées.
navigation = commun.construire_navigation()
navigation.run()
