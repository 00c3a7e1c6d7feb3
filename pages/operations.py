"""Page « Opérations » : registre consultable et filtrable ; validation, demande de correction,
suppression (après confirmation) et restauration selon le rôle (droits vérifiés côté données) ;
historique de chaque fiche (champs nommés par leurs libellés français)."""

import pandas as pd
import streamlit as st

from donnees.erreurs import ErreurDonnees
from donnees.format import formater_horodatage
from donnees.modele_operation import resumer_changements
from pages import actions_operation, commun
from vues.format import echapper_markdown
from vues.tableaux import preparer_tableau

ACTIONS_JOURNAL = {"creation": "Création", "modification": "Modification", "suppression": "Suppression",
                   "restauration": "Restauration", "validation": "Validation"}

facade = commun.obtenir_facade()
filtres = commun.lire_filtres()
commun.ouvrir_page_reservee("Opérations", True, "", "operations_message")

gauche, droite = st.columns([3, 1])
recherche = gauche.text_input("Rechercher (nom, maître d'ouvrage, description)", key="operations_recherche",
                              placeholder="ex. école, parking, Jules-Ferry")
supprimees = droite.toggle("Afficher les supprimées", key="operations_supprimees",
                           disabled=not facade.peut("lire_supprimees"))
if supprimees and facade.peut("lire_supprimees"):
    operations = commun.filtrer_operations(facade.lire_operations(inclure_supprimees=True), filtres)
else:
    operations = commun.filtrer_operations(commun.charger_operations(), filtres)
if recherche.strip():
    texte = recherche.strip().lower()
    colonnes = [c for c in ("nom", "maitre_ouvrage", "description") if c in operations.columns]
    trouve = pd.Series(False, index=operations.index)
    for colonne in colonnes:
        trouve |= operations[colonne].fillna("").astype(str).str.lower().str.contains(texte, regex=False)
    operations = operations[trouve]

if operations.empty:
    st.info("Aucune opération ne correspond aux filtres et à la recherche.")
    st.stop()

noms = dict(zip(commun.charger_couche("communes_affichage")["code_insee"],
                commun.charger_couche("communes_affichage")["nom"]))
approximatives = operations["localisation_approximative"].fillna(False).astype(bool)
tableau = operations.assign(operation_id=operations["id"], commune=operations["code_insee"].map(noms),
                            # carré provisoire au centre de la commune : pas une surface réelle
                            surface_zones_m2=operations["surface_zones_m2"].round(0).mask(approximatives))
colonnes = ["operation_id", "nom", "commune", "type_site", "statut", "validation", "annee", "surface_zones_m2"]
if "supprimee" in tableau.columns and supprimees:
    colonnes.append("supprimee")
affichage = preparer_tableau(tableau.sort_values("operation_id", ascending=False), colonnes,
                             {"commune": "Commune", "surface_zones_m2": "Surface des zones (m²)",
                              "supprimee": "Supprimée"})
st.caption(f"{len(operations)} opérations. Sélectionnez une ligne pour agir sur l'opération ou voir son "
           "historique.")
# Nom épinglé à gauche (reste en vue quand on fait défiler), année « 2018 », cellules vides « — ».
selection = st.dataframe(commun.nettoyer_vides(affichage), hide_index=True, width="stretch",
                         height=commun.hauteur_tableau(len(affichage), 360), on_select="rerun",
                         selection_mode="single-row", key="operations_tableau",
                         column_config=commun.configurer_colonnes(affichage, cle="Nom"))
lignes = selection.selection.rows if selection else []
identifiants = [int(i) for i in affichage["Opération"]]
if lignes:  # une ligne cliquée dans le tableau choisit l'opération
    st.session_state["operations_choix"] = identifiants[lignes[0]]
if st.session_state.get("operations_choix") not in identifiants:
    st.session_state.pop("operations_choix", None)
libelles = dict(zip(identifiants, affichage["Nom"]))
ident = st.selectbox("Opération choisie", identifiants, index=None, key="operations_choix",
                     format_func=lambda i: f"n° {i} · {libelles[i]}", placeholder="Choisissez une opération")
if ident is None:
    st.stop()
try:
    operation = facade.lire_operation(ident)
except ErreurDonnees as erreur:
    st.error(str(erreur))
    st.stop()

st.subheader(f"n° {ident} · {echapper_markdown(operation['nom'])}")
st.page_link("pages/fiche.py", label="Ouvrir la fiche complète", icon=":material/description:",
             query_params={"id": str(ident)})


actions_operation.afficher_actions(facade, operation, "operations_message")
code = operation["code_insee"]

if facade.peut("lire_journal", code, operation):
    journal = facade.lire_journal(ident)
    st.markdown("**Historique**")
    if journal.empty:
        st.caption("Aucune entrée au journal.")
    else:
        st.dataframe(pd.DataFrame({
            "Date (heure de Paris)": journal["horodatage"].map(formater_horodatage),
            "Auteur": journal["auteur"], "Action": journal["action"].map(ACTIONS_JOURNAL).fillna(journal["action"]),
            "Champs": journal["diff"].map(resumer_changements)}).iloc[::-1], hide_index=True, width="stretch")
else:
    st.caption("Historique réservé aux comptes de la commune, aux financeurs et au syndicat.")
