"""Page « Territoires » : vue inter-territoires de l'instance (financeurs, Agence de l'eau).

Par territoire : chiffres clés publics (opérations réalisées et validées, codes du catalogue) et, là où le compte
de la session dans CE territoire le permet (:mod:`donnees.droits.territoires`), les montants et les aides par
financeur ; liens qui ouvrent les pages existantes de ce territoire (``?territoire=code``).
"""

import pandas as pd
import streamlit as st

from indicateurs.catalogue import decimales, formater_valeur, libelle, titre_axe
from pages import commun
from services.territoires import CHIFFRES_MONTANTS, CHIFFRES_PUBLICS
from vues.format import echapper_markdown

LIENS = (("pages/vue_ensemble.py", "Vue d'ensemble", ":material/dashboard:"),
         ("pages/carte.py", "Carte", ":material/map:"),
         ("pages/operations.py", "Opérations", ":material/table_rows:"))
RESERVE = "réservé"

st.title("Territoires")
if not commun.plusieurs_territoires():
    st.info("Cette instance n'héberge qu'un territoire : ses chiffres sont dans la Vue d'ensemble.")
    st.stop()
st.caption("Chiffres clés de chaque territoire de l'instance : opérations réalisées et validées par leur syndicat. "
           "Les montants (coûts, aides par financeur) d'un territoire sont réservés aux comptes de ce territoire "
           "qui les voient (financeur, syndicat…) : connectez-vous à chaque territoire que vous financez.")

with st.spinner("Calcul des chiffres de chaque territoire…"):
    resultats = commun.calculer_chiffres_territoires()


def construire_tableau(resultats) -> pd.DataFrame:
    """Une ligne par territoire : chiffres publics (nombres), montants (texte, « réservé » s'ils sont cachés)."""
    lignes = []
    for resultat in resultats:
        ligne = {"Territoire": resultat.nom}
        ligne.update({titre_axe(code): round(resultat.chiffres.get(code, float("nan")), decimales(code))
                      for code in CHIFFRES_PUBLICS})
        ligne["Communes"] = resultat.communes
        ligne.update({libelle(code): (formater_valeur(code, resultat.montants[code]) if resultat.montants
                                      else RESERVE) for code in CHIFFRES_MONTANTS})
        lignes.append(ligne)
    return pd.DataFrame(lignes)


def tableau_scenarios(scenarios: pd.DataFrame, avec_couts: bool) -> pd.DataFrame:
    """Chiffres de tête des scénarios d'un territoire (coût estimé seulement si les montants sont visibles)."""
    tableau = pd.DataFrame({"Scénario": scenarios["scenario"], "Sites": scenarios["nombre_sites"],
                            "Surface désimperméabilisée (m²)": scenarios["surface_desimpermeabilisee"].round(0),
                            "Volume retenu (m³/an)": scenarios["volume_infiltre"].round(0)})
    if avec_couts:
        tableau["Coût estimé (€, médiane du registre)"] = scenarios["cout_estime"].round(-2)
    return tableau


def afficher_territoire(resultat) -> None:
    """Chiffres clés d'un territoire, ses aides par financeur si visibles, liens vers ses pages."""
    with st.container(border=True):
        courant = " (territoire ouvert)" if resultat.code == commun.territoire_courant().code else ""
        st.subheader(f"{echapper_markdown(resultat.nom)}{courant}")
        if resultat.erreur:
            st.error(f"Données indisponibles : {resultat.erreur}")
            return
        st.caption(f"{resultat.communes} communes" + (" · données de démonstration" if resultat.demo else ""))
        colonnes = [*st.columns(2), *st.columns(2)]  # deux par ligne : libellés et unités lisibles
        for colonne, code in zip(colonnes, CHIFFRES_PUBLICS):
            colonne.metric(libelle(code), formater_valeur(code, resultat.chiffres[code]), border=True,
                           help=libelle(code))
        if resultat.montants is None:
            st.caption("Montants réservés : connectez-vous à ce territoire avec un compte qui les voit.")
        else:
            colonnes = st.columns(len(CHIFFRES_MONTANTS))
            for colonne, code in zip(colonnes, CHIFFRES_MONTANTS):
                colonne.metric(libelle(code), formater_valeur(code, resultat.montants[code]), border=True)
            if resultat.aides is not None and not resultat.aides.empty:
                aides = resultat.aides.round({"montant_aides": 0, "part_aides_financeur": 1})
                aides = aides.rename(columns={"financeur": "Financeur", "montant_aides": titre_axe("montant_aides"),
                                              "part_aides_financeur": titre_axe("part_aides_financeur")})
                commun.afficher_tableau(aides.sort_values(titre_axe("montant_aides"), ascending=False),
                                        cle="Financeur")
        if resultat.scenarios is not None and len(resultat.scenarios):
            st.markdown("**Scénarios prospectifs** (sites ajoutés aux opérations programmées ; page Scénarios)")
            commun.afficher_tableau(tableau_scenarios(resultat.scenarios, resultat.montants is not None),
                                    cle="Scénario")
        liens = st.columns(len(LIENS) + 1)
        for colonne, (page, titre, icone) in zip(liens, LIENS):
            colonne.page_link(page, label=titre, icon=icone, query_params={"territoire": resultat.code})
        if resultat.montants is None:
            liens[-1].page_link("pages/connexion.py", label="Se connecter", icon=":material/login:",
                                query_params={"territoire": resultat.code})


commun.afficher_tableau(construire_tableau(resultats), cle="Territoire")
for resultat in resultats:
    afficher_territoire(resultat)
