"""« Qui l'a fait avant moi ? » (issue 16, partie 4), partagé par la fiche d'une opération et la page Commune : les
opérations réalisées semblables (lien vers leur fiche, explication), leurs communes et, pour un membre connecté, les
référents de ces communes qui figurent dans l'annuaire. Le public ne reçoit aucun nom (le service ne lui en donne
pas)."""

import streamlit as st

from services.pairs import ResultatPairs
from vues.annuaire import decrire_coordonnees
from vues.format import echapper_markdown


def afficher_pairs(resultat: ResultatPairs | None) -> None:
    """Liste des pairs d'un projet, avec les référents consentants de leurs communes si le lecteur les lit."""
    if resultat is None or resultat.pairs.empty:
        st.info("Aucune opération réalisée et validée de même type et de taille voisine dans le registre pour "
                "l'instant.", icon=":material/travel_explore:")
        return
    if resultat.referents is None:
        st.caption("Communes qui ont mené des opérations semblables. Les référents à contacter sont réservés aux "
                   "membres connectés (page Connexion).")
    else:
        st.caption("Opérations semblables et référents de leurs communes qui ont accepté de figurer dans l'annuaire.")
    for pair in resultat.pairs.to_dict("records"):
        with st.container(border=True):
            st.page_link("pages/fiche.py", label=f"n° {int(pair['operation_id'])} · {echapper_markdown(pair['nom'])}",
                         icon=":material/description:", query_params={"id": str(int(pair["operation_id"]))})
            st.caption(echapper_markdown(pair["explication"]))
            if resultat.referents is None:
                continue
            referents = resultat.referents[resultat.referents["code_insee"].eq(pair["code_insee"]).to_numpy(bool)]
            if referents.empty:
                st.caption(f"Aucun référent de {echapper_markdown(pair['commune'])} dans l'annuaire.")
            for referent in referents.to_dict("records"):
                coordonnees = decrire_coordonnees(referent)
                st.markdown(f"Référent : **{echapper_markdown(referent['nom'])}**"
                            + (f" · {coordonnees}" if coordonnees else ""))
