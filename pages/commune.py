"""Page « Commune » : chiffres, opérations (tableau et carte), trajectoire, profil d'imperméabilisation,
villes pairs, parcelles prioritaires et potentiel de désimperméabilisation (parcelles et îlots)."""

import streamlit as st

from indicateurs.catalogue import formater_valeur, libelle, titre_axe
from indicateurs.chaleur_abords import decrire_estimation_site
from indicateurs.communs import CODE_BASSIN
from indicateurs.comparaison import CRITERES, choisir_villes_pairs
from indicateurs.potentiel import choisir_parcelles_potentiel
from indicateurs.priorites import classer_parcelles
from pages import commun, qui_avant_moi
from pages.vues_en_cache import afficher_carte, construire_figure
from vues.cartes import construire_carte_commune, limiter_zones
from vues.figures import COLONNES_TRAJECTOIRE, figure_barres, figure_trajectoire
from vues.format import echapper_markdown, formater_nombre
from services.pairs import chercher_pairs
from services.potentiel import decrire_potentiel
from donnees.nomenclatures import lire_types_site
from indicateurs.pairs import ProjetReference
from vues.tableaux import preparer_tableau, tableau_potentiel

M2_PAR_KM2 = 1_000_000
SECTIONS = ["Opérations", "Trajectoire", "Profil chaleur et imperméabilisation", "Villes pairs",
            "Parcelles prioritaires", "Potentiel"]
ECHELLES_POTENTIEL = ["parcelle", "îlot"]
NOMBRE_POTENTIEL_CLASSE = 150
CHALEUR = ["t_air_moyenne", "anomalie_chaleur", "surface_ilot_chaleur", "rafraichissement_abords", "surface_abords",
           "surface_sortie_ilot"]
NOMBRE_PARCELLES_CARTE = 300
NOMBRE_PARCELLES_LISTE = 20
CHIFFRES = ["surface_desimpermeabilisee", "volume_infiltre", "nombre_operations", "rafraichissement_emprise",
            "ratio_compensation_sdage", "taux_atteinte_objectif"]
COMPARAISON = ["population", "taux_impermeabilisation", "surface_desimpermeabilisee",
               "surface_desimpermeabilisee_par_habitant", "surface_desimpermeabilisee_par_ha_impermeable"]

filtres = commun.lire_filtres()
st.title("Commune")
code = commun.choisir_commune()
communes = commun.charger_couche("communes")
table, ligne, bassin = commun.calculer_commune(code, filtres.sans("communes"))
operations = commun.filtrer_operations(commun.charger_operations(), filtres.sans("communes"))
operations = operations[operations["code_insee"].eq(code).to_numpy(bool)]

st.caption(f"{echapper_markdown(ligne['nom'])} — {formater_valeur('population', ligne['population'])} — "
           f"{formater_nombre(ligne['surface_commune'] / M2_PAR_KM2, 1, 'km²')}")
perimetre = commun.decrire_perimetre_commune(code, ligne["nom"], filtres.sans("communes"))
colonnes = [*st.columns(3), *st.columns(3)]
for colonne, indicateur in zip(colonnes, CHIFFRES):
    mesure = (f"Estimation par site : rafraîchissement local {decrire_estimation_site(commun.parametres_territoire())}"
              " ; pas une moyenne de la commune.\n\n" if indicateur == "rafraichissement_emprise" else "")
    colonne.metric(libelle(indicateur), formater_valeur(indicateur, ligne[indicateur]), border=True,
                   help=f"{mesure}Même calcul sur tout le bassin, avec ce que vous voyez : "
                        f"{formater_valeur(indicateur, bassin[indicateur])}.\n\n{perimetre}")
st.caption(perimetre)
with st.expander("Rapport PDF de la commune", icon=":material/picture_as_pdf:"):
    commun.proposer_rapport("commune", filtres.sans("communes"), code, cle="rapport_commune")

# Une section à la fois (contrôle segmenté plutôt qu'onglets) : une carte Leaflet dans un onglet caché
# s'initialise sans taille et cadre mal le territoire ; seule la section choisie est calculée.
section = st.segmented_control("Section", SECTIONS, default=SECTIONS[0], key="commune_section",
                               label_visibility="collapsed") or SECTIONS[0]

if section == "Opérations":
    if operations.empty:
        st.info("Aucune opération dans cette commune pour les filtres choisis.")
    else:
        zones_commune = commun.charger_zones()
        zones_commune, nombre_operations, nombre_dessinees = limiter_zones(
            zones_commune[zones_commune["operation_id"].isin(operations["id"]).to_numpy(bool)])

        def construire_carte_operations():
            """Contour de la commune et zones de ses opérations retenues (plafonnées : vues/cartes_bornees.json)."""
            return construire_carte_commune(communes[communes["code_insee"] == code], zones_commune)

        if nombre_dessinees < nombre_operations:
            st.caption(f"{formater_nombre(nombre_operations)} opérations dans la commune : la carte dessine les "
                       f"zones des {formater_nombre(nombre_dessinees)} plus grandes ; le tableau ci-dessous les "
                       "liste toutes.")
        afficher_carte(("commune_operations", commun.cle_donnees_affichees(), filtres.sans("communes"), code),
                       construire_carte_operations, key=f"carte_commune_{code}", height=480, returned_objects=[])
        indicateurs_operations = commun.calculer_operations(filtres.sans("communes"))
        indicateurs_operations = indicateurs_operations[indicateurs_operations["code_insee"] == code]
        commun.afficher_tableau(preparer_tableau(indicateurs_operations,
                                                 ["operation_id", "nom", "type_site", "statut", "validation",
                                                  "annee", "surface_desimpermeabilisee", "volume_infiltre",
                                                  *(["cout_total_ht", "taux_aide"] if commun.couts_visibles()
                                                    else [])]))

elif section == "Trajectoire":
    courbe = commun.calculer_annees(filtres.sans("communes"))
    courbe = courbe[courbe["territoire"] == code]
    if courbe["surface_cumulee_projetee"].fillna(0).eq(0).all() and courbe["objectif_cumule"].isna().all():
        st.info("Ni opération ni objectif pour cette commune : pas de trajectoire à tracer.")
    else:
        commun.afficher_graphique(
            construire_figure(figure_trajectoire, courbe[COLONNES_TRAJECTOIRE], titre_axe("surface_cumulee"),
                              table.attrs.get("annee_reference")),
            preparer_tableau(courbe, ["annee", "surface_cumulee", "surface_cumulee_projetee", "objectif_cumule"]),
            f"trajectoire_{code}", "Lecture : surface cumulée réalisée, projection avec les opérations en travaux "
            "et programmées, et objectif de la commune.", "trajectoire")

elif section == "Profil chaleur et imperméabilisation":
    commun.signaler_couche_absente("occupation", "chaleur et imperméabilisation ne peuvent pas être calculées")
    st.markdown("**Chaleur** — modèle InVEST Urban Cooling sur les cellules urbaines, après-midi d'été ; "
                "toutes les opérations réalisées et validées (filtres non appliqués). Le rafraîchissement aux "
                "abords est une moyenne après brassage de l'air : elle dilue l'effet du site sur ses voisins.")
    colonnes_chaleur = [*st.columns(3), *st.columns(3)]
    for colonne, indicateur in zip(colonnes_chaleur, CHALEUR):
        colonne.metric(libelle(indicateur), formater_valeur(indicateur, ligne[indicateur]),
                       help=f"Bassin : {formater_valeur(indicateur, bassin[indicateur])}")
    st.markdown("**Imperméabilisation**")
    impermeable = commun.charger_surfaces_impermeables().set_index("code_insee")
    gauche, droite = st.columns(2)
    gauche.metric(libelle("taux_impermeabilisation"), formater_valeur("taux_impermeabilisation",
                                                                     ligne["taux_impermeabilisation"]),
                  help=f"Bassin : {formater_valeur('taux_impermeabilisation', bassin['taux_impermeabilisation'])}")
    droite.metric(libelle("part_desimpermeabilisee"), formater_valeur("part_desimpermeabilisee",
                                                                     ligne["part_desimpermeabilisee"]))
    if code in impermeable.index:
        detail = impermeable.loc[code]
        st.markdown(
            "Surfaces imperméables (occupation du sol) : "
            f"**{formater_valeur('surface_impermeable', detail['surface_impermeable'])}**, "
            f"dont bâti {formater_valeur('surface_impermeable', detail['surface_impermeable_batie'])} et "
            f"non bâti (voiries, cours, parkings) "
            f"{formater_valeur('surface_impermeable', detail['surface_impermeable_non_batie'])} : "
            "c'est ce non-bâti qui se prête le plus à la désimperméabilisation.")
    classement = table[table["territoire"] != CODE_BASSIN].sort_values("taux_impermeabilisation", ascending=False)
    commun.afficher_graphique(
        construire_figure(figure_barres, classement[["nom", "taux_impermeabilisation"]], "nom",
                          "taux_impermeabilisation",
                          titre_axe("taux_impermeabilisation"), horizontal=True, unite="%",
                          hauteur=max(320, 26 * len(classement) + 80), surlignes=[ligne["nom"]]),
        preparer_tableau(classement, ["territoire", "nom", "taux_impermeabilisation"]), "taux_impermeabilisation",
        "Lecture : taux d'imperméabilisation des communes du bassin ; la commune choisie est surlignée.",
        "profil")

elif section == "Villes pairs":
    critere = st.radio("Comparer avec les communes de", list(CRITERES), format_func=CRITERES.get, horizontal=True)
    pairs = choisir_villes_pairs(table, code, critere)
    commun.afficher_tableau(preparer_tableau(pairs, ["nom", *COMPARAISON]))
    commun.afficher_graphique(
        construire_figure(figure_barres, pairs[["nom", "surface_desimpermeabilisee_par_ha_impermeable"]], "nom",
                          "surface_desimpermeabilisee_par_ha_impermeable",
                          titre_axe("surface_desimpermeabilisee_par_ha_impermeable"), horizontal=True,
                          unite="m²/ha", hauteur=320, surlignes=[ligne["nom"]]),
        preparer_tableau(pairs, ["territoire", "nom", *COMPARAISON]), f"villes_pairs_{code}",
        "Lecture : m² rendus perméables pour chaque hectare imperméable, comparés aux villes pairs.", "pairs")
    # Qui l'a fait avant moi ? (issue 16, partie 4) : les opérations semblables menées dans les autres communes.
    st.subheader("Qui l'a fait avant moi ?", anchor="qui-avant-moi")
    st.caption("Choisissez un type de site (et une surface) : les opérations réalisées et validées semblables des "
               "autres communes, et leurs référents pour les membres connectés.")
    types = lire_types_site()
    gauche, droite = st.columns(2)
    type_site = gauche.selectbox("Type de site", list(types), format_func=types.get, key="commune_pairs_type")
    surface = droite.number_input("Surface du projet (m², 0 : toutes tailles)", min_value=0, value=0, step=100,
                                  key="commune_pairs_surface")
    qui_avant_moi.afficher_pairs(chercher_pairs(
        commun.obtenir_facade(), projet=ProjetReference(type_site, float(surface) or None, exclure_commune=code),
        indicateurs_operations=commun.calculer_operations(commun.Filtres()), zones=commun.charger_zones(),
        noms_communes=commun.noms_communes()))

elif section == "Parcelles prioritaires":
    commun.signaler_couche_absente("parcelles", "pas de parcelle à classer")
    commun.signaler_couche_absente("occupation", "pas de surface imperméable pour classer les parcelles")
    priorites = commun.calculer_priorites_commune(code)
    candidates = classer_parcelles(priorites, code) if priorites is not None else None
    if candidates is None or candidates.empty:
        st.info("Aucune parcelle candidate dans cette commune (pas de parcelles ou pas de surface imperméable "
                "non bâtie suffisante).")
    else:
        st.caption(f"{len(candidates)} parcelles candidates ; la carte montre les {NOMBRE_PARCELLES_CARTE} premières. "
                   "Score et méthode : page Méthode, onglet Priorités.")
        def construire_carte_parcelles():
            """Contour de la commune et ses parcelles les plus prioritaires."""
            parcelles = commun.charger_parcelles_commune(code)
            premieres = candidates.head(NOMBRE_PARCELLES_CARTE)
            geometries = parcelles[parcelles["id"].isin(premieres["id"]).to_numpy(bool)][["id", "geometry"]]
            return construire_carte_commune(communes[communes["code_insee"] == code], None,
                                            geometries.merge(premieres, on="id"))

        afficher_carte(("commune_parcelles", commun.cle_donnees_affichees(), code), construire_carte_parcelles,
                       key=f"carte_priorites_{code}", height=480, returned_objects=[])
        liste = candidates.head(NOMBRE_PARCELLES_LISTE)
        commun.afficher_tableau(preparer_tableau(liste, ["rang_priorite", "id", "score_priorite", "surface_parcelle",
                                                         "surface_impermeable_non_batie_parcelle",
                                                         "part_impermeable_parcelle"]))

elif section == "Potentiel":
    commun.signaler_couche_absente("parcelles", "pas de parcelle à évaluer")
    commun.signaler_couche_absente("occupation", "potentiel inconnu : l'imperméabilisation vient de l'occupation du "
                                                 "sol")
    echelle = st.radio("Potentiel par", ECHELLES_POTENTIEL, horizontal=True, key="commune_echelle_potentiel")
    potentiel = commun.calculer_potentiel_commune(code)
    if potentiel is None or potentiel.empty:
        st.info("Aucune parcelle dans cette commune : pas de potentiel à montrer.")
    else:
        ilots = commun.calculer_potentiel_ilots(code) if echelle == "îlot" else None
        montre = potentiel if ilots is None else ilots
        st.caption(decrire_potentiel(potentiel, NOMBRE_POTENTIEL_CLASSE, ilots) + " Îlot : parcelles contiguës "
                   "bordées par les voies, score moyen pondéré par la surface. Règles et sources : page Méthode.")

        def construire_carte_potentiel():
            """Contour de la commune et ses parcelles (ou îlots) au plus fort potentiel, et les exclues."""
            choisies = choisir_parcelles_potentiel(montre, NOMBRE_POTENTIEL_CLASSE)
            geometries = choisies if echelle == "îlot" else commun.geometrer_parcelles(code, choisies)
            return construire_carte_commune(communes[communes["code_insee"] == code], None, potentiel=geometries)

        afficher_carte(("commune_potentiel", commun.cle_donnees_affichees(), code, echelle),
                       construire_carte_potentiel, key=f"carte_potentiel_{code}_{echelle}", height=480,
                       returned_objects=[])
        st.markdown(f"**{'Îlots' if echelle == 'îlot' else 'Parcelles'} au plus fort potentiel**")
        commun.afficher_tableau(tableau_potentiel(montre, NOMBRE_PARCELLES_LISTE))
