"""Page « Vue d'ensemble » : chiffres clés et carte du bassin."""

import streamlit as st
from streamlit_folium import st_folium

from indicateurs.synthese import calculer_chiffres_cles
from pages import commun
from vues.cartes import construire_carte_bassin
from vues.format import formater_nombre

territoire = commun.charger_territoire()
communes = commun.charger_couche("communes_affichage")
operations = commun.charger_operations()
zones = commun.charger_zones()
chiffres = calculer_chiffres_cles(operations, zones)

st.title("Vue d'ensemble")
st.caption(f"{territoire['nom']} — registre des opérations de désimperméabilisation")

colonnes = st.columns(5)
colonnes[0].metric("Opérations", formater_nombre(chiffres["operations"]))
colonnes[1].metric("Communes concernées",
                   f"{chiffres['communes']} / {len(territoire['codes_insee'])}")
LIBELLES_SURFACES = {"realisee": "Surfaces réalisées", "en_travaux": "Surfaces en travaux",
                     "programmee": "Surfaces programmées"}
for colonne, statut in zip(colonnes[2:], LIBELLES_SURFACES):
    colonne.metric(LIBELLES_SURFACES[statut],
                   formater_nombre(chiffres["surface_par_statut"][statut], unite="m²"),
                   help="Somme des surfaces des zones des opérations, calculées en Lambert-93.")

if operations.empty:
    st.info("Aucune opération enregistrée pour l'instant.")

carte = construire_carte_bassin(communes, operations)
st_folium(carte, height=620, use_container_width=True, returned_objects=[], key="carte_bassin")
if territoire.get("demo"):
    st.caption("Géométries de démonstration (synthétiques) : contours des communes, parcelles et "
               "opérations ne correspondent pas au terrain.")
