"""Page « Méthode » : chaque indicateur, sa formule, son unité, ses paramètres en vigueur, leurs sources et
leur statut (publiée ou choix du projet), et les couples de revêtements à compromis."""

import streamlit as st

from pages import commun

contenu = commun.lire_contenu_methode()
familles = contenu["familles"]

st.title("Méthode")
st.markdown(
    "Chaque chiffre du tableau de bord vient d'une formule, de paramètres et de sources, listés ici. Les "
    "surfaces sont toujours calculées en Lambert-93 (EPSG:2154) à partir des géométries, jamais reprises "
    "d'une déclaration. Chaque paramètre a un **statut** : *publiée* (valeur ou plage tirée de la source citée) "
    "ou *choix du projet* (aucune source publiée : le raisonnement et la plage testée sont donnés).")



def afficher_table_sourcee(cle: str) -> None:
    """Table compacte (valeurs et statut) puis la source et le raisonnement de chaque ligne, en liste."""
    compacte, sources = contenu["sourcees"][cle]
    st.dataframe(compacte, hide_index=True, width="stretch")
    st.markdown("**Sources et raisonnements, ligne par ligne**")
    st.markdown(sources)


onglets = st.tabs([*familles, "Paramètres et sources", "Compromis"])
for onglet, fiches in zip(onglets, familles.values()):
    with onglet:
        for fiche in fiches:
            with st.expander(f"**{fiche['titre']}**", expanded=False):
                st.markdown(fiche["definition"])
                st.markdown(f"**Formule** : `{fiche['formule']}`")
                st.markdown(f"**Unité** : {fiche['unite']} · **Calculé par** : {fiche['niveaux_texte']}")
                st.markdown(f"**Source** : {fiche['source']}")
                scalaires, par_revetement = contenu["parametres_fiches"][fiche["code"]]
                if not scalaires.empty:
                    st.markdown("**Paramètres en vigueur**")
                    st.dataframe(scalaires, hide_index=True, width="stretch")
                for table in par_revetement:
                    st.markdown(f"**{table.attrs['titre']}**")
                    st.dataframe(table, hide_index=True, width="stretch")

with onglets[-2]:
    st.subheader("Statut des sources")
    st.caption("Nombre de lignes de chaque fichier de paramètres dont la valeur est publiée ou choisie par le "
               "projet. Le détail des sources : docs/parametres.md.")
    st.dataframe(contenu["statuts"], hide_index=True, width="stretch")
    st.subheader("Paramètres des modèles")
    st.caption("Fichier `indicateurs/parametres/modele.csv` ; le territoire peut surcharger une valeur "
               "(clé `parametres` de `territoire.json`).")
    afficher_table_sourcee("modele")
    st.subheader("Revêtements")
    st.caption("Fichier `donnees/nomenclatures/revetements.csv` : coefficient de ruissellement annuel, albédo, "
               "ombre, coefficient cultural kc, espace vert.")
    afficher_table_sourcee("revetements")
    st.subheader("Percolation vers la nappe")
    st.caption("Fichier `indicateurs/parametres/percolation.csv` (modèle d'eau sur grille).")
    afficher_table_sourcee("percolation")
    st.subheader("Score de priorité")
    st.caption("Fichier `indicateurs/parametres/priorites.csv` : pondérations à débattre en comité de pilotage.")
    afficher_table_sourcee("priorites")
    st.subheader("Potentiel de désimperméabilisation")
    st.caption("Fichier `indicateurs/parametres/potentiel.csv`, à la manière de la démarche EPODES du Cerema : "
               "imperméabilisation × infiltrabilité des sols × chaleur, puis exclusions (sites pollués, captages) "
               "et facteurs des contraintes (nappe, cavités, anciens sites industriels). La somme des trois poids "
               "est contrôlée.")
    afficher_table_sourcee("potentiel")
    st.subheader("Scénarios prospectifs")
    st.caption("Fichier `indicateurs/parametres/scenarios.csv` : coût d'un site = surface × médiane des coûts au m² "
               "des opérations du registre de même type et même revêtement après travaux (fourchette : 1er – 3e "
               "quartile) ; effet calculé avec les mêmes formules et modèles que le registre.")
    afficher_table_sourcee("scenarios")
    st.subheader("Qui l'a fait avant moi ? (opérations semblables)")
    st.caption("Fichier `indicateurs/parametres/pairs.csv` : opérations réalisées et validées de même type de site, "
               "surface dans un rapport toléré, classées par la moyenne pondérée des écarts (surface et coût au m² en "
               "logarithme, revêtement après travaux) ; un critère inconnu ou non lisible (coût pour le public) sort "
               "de la moyenne.")
    afficher_table_sourcee("pairs")
    st.subheader("Estimation de chaleur par site")
    st.caption("Fichier `indicateurs/parametres/chaleur_site.csv` : facteur calibré sur le modèle sur grille.")
    afficher_table_sourcee("chaleur_site")
    st.subheader("Correspondance OCS GE → revêtements")
    st.caption("Fichier `donnees/nomenclatures/ocsge_revetements.csv`.")
    st.dataframe(contenu["ocsge"], hide_index=True, width="stretch")

with onglets[-1]:
    st.subheader("Couples de revêtements à compromis")
    st.markdown(
        "Passer d'un revêtement à un autre moins imperméable (ou qui ruisselle moins) ne réchauffe jamais "
        "l'air et ne fait jamais baisser la rétention d'eau, **sauf** pour les couples ci-dessous : ils "
        "réduisent l'imperméabilisation mais perdent de l'ombre, de l'évapotranspiration ou de l'albédo. "
        "Ce sont des **compromis**, pas des gains : la fiche d'une opération "
        "qui en contient les signale. Un revêtement drainant plus sombre qu'un béton (albédo 0,25 contre 0,30) "
        "ne rafraîchit que par l'eau qu'il retient dans sa structure ; à kc ≥ 0,05 il n'est jamais plus chaud "
        "que le béton qu'il remplace.")
    st.caption("Fichier `indicateurs/parametres/compromis.csv`, vérifié par tests/test_monotonie.py sur tous "
               "les couples de la table des revêtements (grille InVEST et estimation par site).")
    st.markdown(contenu["compromis"])
