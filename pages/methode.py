"""Page « Méthode » : chaque indicateur, sa formule, son unité, ses paramètres en vigueur et leurs sources."""

import streamlit as st

from pages import commun
from vues.methode import decrire_familles, tableau_correspondance_ocsge, tableau_modele, tableau_parametres, \
    tableau_revetements

parametres = commun.parametres_territoire()
familles = decrire_familles(parametres)

st.title("Méthode")
st.markdown(
    "Chaque chiffre du tableau de bord vient d'une formule, de paramètres et de sources, listés ici. Les "
    "surfaces sont toujours calculées en Lambert-93 (EPSG:2154) à partir des géométries, jamais reprises "
    "d'une déclaration. Les valeurs marquées *hypothèse* sont des valeurs par défaut, à calibrer.")

onglets = st.tabs([*familles, "Tables de paramètres"])
for onglet, fiches in zip(onglets, familles.values()):
    with onglet:
        for fiche in fiches:
            with st.expander(f"**{fiche['titre']}**", expanded=False):
                st.markdown(fiche["definition"])
                st.markdown(f"**Formule** : `{fiche['formule']}`")
                st.markdown(f"**Unité** : {fiche['unite']} · **Calculé par** : {fiche['niveaux_texte']}")
                st.markdown(f"**Source** : {fiche['source']}")
                scalaires, par_revetement = tableau_parametres(fiche)
                if not scalaires.empty:
                    st.markdown("**Paramètres en vigueur**")
                    st.dataframe(scalaires, hide_index=True, width="stretch")
                for table in par_revetement:
                    st.markdown(f"**{table.attrs['titre']}**")
                    st.dataframe(table, hide_index=True, width="stretch")

with onglets[-1]:
    st.subheader("Paramètres des modèles")
    st.caption("Fichier `indicateurs/parametres/modele.csv` ; le territoire peut surcharger une valeur "
               "(clé `parametres` de `territoire.json`).")
    st.dataframe(tableau_modele(parametres, commun.charger_territoire().get("sources_parametres")),
                 hide_index=True, width="stretch")
    st.subheader("Revêtements")
    st.caption("Fichier `donnees/nomenclatures/revetements.csv`.")
    st.dataframe(tableau_revetements(), hide_index=True, width="stretch")
    st.subheader("Correspondance OCS GE → revêtements")
    st.caption("Fichier `donnees/nomenclatures/ocsge_revetements.csv`.")
    st.dataframe(tableau_correspondance_ocsge(), hide_index=True, width="stretch")
