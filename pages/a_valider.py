"""Page « À valider » : la file des opérations soumises par les communes et en attente du syndicat, des plus
anciennes aux plus récentes ; valider ou demander une correction (commentaire lu par la commune)."""

import streamlit as st

from donnees.erreurs import ErreurDonnees
from donnees.nomenclatures import STATUTS, lire_types_site
from pages import actions_operation, commun
from vues.format import echapper_markdown
from vues.tableaux import preparer_tableau

facade = commun.obtenir_facade()
commun.ouvrir_page_reservee("Opérations à valider", facade.peut("valider"),
                            "La validation est réservée au syndicat de bassin", "a_valider_message")

file = commun.lire_a_valider()
if file.empty:
    st.success("Aucune opération en attente : tout ce que les communes ont soumis est traité.",
               icon=":material/done_all:")
    st.stop()

noms = dict(zip(commun.charger_couche("communes_affichage")["code_insee"],
                commun.charger_couche("communes_affichage")["nom"]))
st.caption(f"{len(file)} opération(s) soumise(s) par les communes, des plus anciennes aux plus récentes. "
           "Choisissez-en une pour la valider ou demander une correction.")
tableau = file.assign(operation_id=file["id"], commune=file["code_insee"].map(noms),
                      surface_zones_m2=file["surface_zones_m2"].round(0))
affichage = preparer_tableau(tableau, ["operation_id", "nom", "commune", "type_site", "statut", "annee",
                                       "surface_zones_m2"],
                             {"commune": "Commune", "surface_zones_m2": "Surface des zones (m²)"})
selection = st.dataframe(affichage, hide_index=True, width="stretch", on_select="rerun",
                         selection_mode="single-row", key="a_valider_tableau",
                         height=commun.hauteur_tableau(len(affichage), 360),
                         column_config={"Surface des zones (m²)": st.column_config.NumberColumn(format="localized")})
identifiants = [int(i) for i in affichage["Opération"]]
lignes = selection.selection.rows if selection else []
if lignes:
    st.session_state["a_valider_choix"] = identifiants[lignes[0]]
if st.session_state.get("a_valider_choix") not in identifiants:
    st.session_state["a_valider_choix"] = identifiants[0]
libelles = dict(zip(identifiants, affichage["Nom"]))
ident = st.selectbox("Opération à examiner", identifiants, key="a_valider_choix",
                     format_func=lambda i: f"n° {i} · {libelles[i]}")
try:
    operation = facade.lire_operation(ident)
except ErreurDonnees as erreur:
    st.error(str(erreur))
    st.stop()

types = lire_types_site()
with st.container(border=True):
    st.subheader(f"n° {ident} · {echapper_markdown(operation['nom'])}")
    st.caption(echapper_markdown(" · ".join(filter(None, [
        noms.get(operation["code_insee"], operation["code_insee"]), types.get(operation["type_site"]),
        STATUTS.get(operation["statut"]),
        f"soumise par {operation['cree_par']}" if operation.get("cree_par") else None,
        f"le {operation['cree_le']:%d/%m/%Y}" if operation.get("cree_le") else None]))))
    if operation.get("description"):
        st.text(operation["description"])
    st.page_link("pages/fiche.py", label="Ouvrir la fiche complète (carte, chiffres, photos)",
                 icon=":material/description:", query_params={"id": str(ident)})
    actions_operation.afficher_actions(facade, operation, "a_valider_message", modifier=False)
