"""Page « Indicateurs » (financeurs) : graphiques par année, type, commune, financeur ; coût-efficacité ;
ratio SDAGE ; téléchargements des données et du tableau des opérations."""

from datetime import date

import streamlit as st

from donnees.nomenclatures import STATUTS, lire_types_site
from indicateurs.catalogue import formater_valeur, titre_axe, unite
from indicateurs.communs import CODE_BASSIN
from indicateurs.synthese import separer_realise_programme
from indicateurs.trajectoire import cible_sdage_pourcent
from pages import commun
from pages.commun import Filtres
from pages.vues_en_cache import construire_figure
from services.indicateurs import STATUTS_REALISES
from vues.figures import figure_barres, figure_barres_realise_programme, figure_ratio_sdage
from vues.format import formater_nombre
from vues.tableaux import preparer_tableau

CHOIX = ["surface_desimpermeabilisee", "volume_infiltre", "surface_active_deconnectee", "cout_total_ht",
         "montant_aides", "nombre_operations"]

st.title("Indicateurs")
st.caption("Pour les financeurs : résultats des opérations retenues par les filtres de la barre latérale.")
perimetre = commun.choisir_perimetre(commun.lire_filtres(), "indicateurs_perimetre")
filtres = perimetre.filtres
st.caption(perimetre.legende)
details = perimetre.details
choix_possibles = (CHOIX if details else [c for c in CHOIX if c not in ("cout_total_ht", "montant_aides")])
parametres = commun.parametres_territoire()
operations = commun.filtrer_operations(commun.charger_operations(), filtres)
communes = commun.calculer_communes(filtres)
annees = commun.calculer_annees(filtres)
par_type = commun.calculer_groupes(filtres, "type_site")
par_operation = commun.calculer_operations(filtres)

if operations.empty:
    st.info("Aucune opération ne correspond aux filtres choisis : aucun graphique à afficher. Élargissez la "
            "sélection dans la barre latérale.")
    st.stop()

choix = st.segmented_control("Indicateur des graphiques", choix_possibles, format_func=titre_axe,
                             default=choix_possibles[0], key="indicateurs_choix") or choix_possibles[0]
titre = titre_axe(choix)

onglet_annee, onglet_type, onglet_commune, onglet_financeur, onglet_efficacite, onglet_sdage = st.tabs(
    ["Par année", "Par type de site", "Par commune", "Par financeur", "Coût-efficacité", "Ratio SDAGE"])

with onglet_annee:
    realise = commun.calculer_groupes(Filtres(**{**filtres.__dict__, "statuts": STATUTS_REALISES}), "annee")
    projete = commun.calculer_groupes(Filtres(**{**filtres.__dict__, "statuts": tuple(
        s for s in STATUTS if s not in STATUTS_REALISES)}), "annee")
    donnees = separer_realise_programme(realise, projete, choix, date.today().year)
    commun.afficher_graphique(
        construire_figure(figure_barres_realise_programme, donnees, titre, unite=unite(choix)),
        preparer_tableau(donnees.rename(columns={"realise": f"{choix}_realise", "programme": f"{choix}_programme"}),
                         ["annee", f"{choix}_realise", f"{choix}_programme"]), f"{choix}_par_annee",
        f"Lecture : chaque barre donne le total des opérations dont les travaux finissent (ou doivent finir) "
        f"cette année-là ; partie pleine : travaux terminés ; partie hachurée : opérations en travaux ou "
        f"programmées et années à venir, une projection (montrée quel que soit le filtre de statut) ; "
        f"{titre.lower()}.", "annee")

with onglet_type:
    types = lire_types_site()
    donnees = par_type.assign(libelle=par_type["type_site"].map(types)).sort_values(choix, ascending=False)
    commun.afficher_graphique(
        construire_figure(figure_barres, donnees[["libelle", choix]], "libelle", choix, titre, horizontal=True,
                          unite=unite(choix), hauteur=max(320, 40 * len(donnees) + 80)),
        preparer_tableau(donnees, ["type_site", choix]), f"{choix}_par_type",
        "Lecture : répartition par type de site ; les cours d'école et les parkings pèsent souvent le plus.",
        "type")

with onglet_commune:
    donnees = communes[communes["territoire"] != CODE_BASSIN].sort_values(choix, ascending=False)
    donnees = donnees[donnees[choix].fillna(0) != 0]
    commun.afficher_graphique(
        construire_figure(figure_barres, donnees[["nom", choix]], "nom", choix, titre, horizontal=True,
                          unite=unite(choix), hauteur=max(320, 26 * len(donnees) + 80)),
        preparer_tableau(donnees, ["territoire", "nom", choix]), f"{choix}_par_commune",
        "Lecture : communes classées de la plus forte à la plus faible valeur (communes à zéro masquées).",
        "commune")

with onglet_financeur:
    if not details:
        st.info(commun.MESSAGE_COUTS_RESERVES)
    else:
        aides = commun.calculer_aides(filtres)
        aides = aides[aides["territoire"] == CODE_BASSIN]
        if aides.empty:
            st.info("Aucune aide déclarée pour les opérations retenues.")
        else:
            commun.afficher_graphique(
                construire_figure(figure_barres, aides[["financeur", "montant_aides"]], "financeur", "montant_aides",
                                  titre_axe("montant_aides"), horizontal=True, unite="€",
                                  hauteur=max(280, 50 * len(aides) + 80)),
                preparer_tableau(aides, ["financeur", "montant_aides", "part_aides_financeur"]), "aides_par_financeur",
                f"Lecture : montant des aides déclarées par financeur ; taux d'aide global "
                f"{formater_nombre(communes.set_index('territoire').loc[CODE_BASSIN, 'taux_aide'], 1, '%')}.",
                "financeur")

with onglet_efficacite:
    if not details:
        st.info(commun.MESSAGE_COUTS_RESERVES)
    else:
        gauche, droite = st.columns(2)
        types = lire_types_site()
        donnees = par_type.assign(libelle=par_type["type_site"].map(types))
        with gauche:
            tri = donnees.dropna(subset=["cout_par_m2"]).sort_values("cout_par_m2")
            commun.afficher_graphique(
                construire_figure(figure_barres, tri[["libelle", "cout_par_m2"]], "libelle", "cout_par_m2",
                                  titre_axe("cout_par_m2"), horizontal=True, unite="€/m²",
                                  hauteur=max(320, 40 * len(tri) + 80)),
                preparer_tableau(tri, ["type_site", "cout_par_m2", "cout_total_ht", "surface_desimpermeabilisee"]),
                "cout_par_m2_par_type", "Lecture : coût HT par m² désimperméabilisé (opérations de coût connu) ; "
                "plus la barre est courte, plus le m² est économique.", "efficacite_m2")
        with droite:
            tri = donnees.dropna(subset=["cout_par_m3_infiltre"]).sort_values("cout_par_m3_infiltre")
            commun.afficher_graphique(
                construire_figure(figure_barres, tri[["libelle", "cout_par_m3_infiltre"]], "libelle",
                                  "cout_par_m3_infiltre",
                                  titre_axe("cout_par_m3_infiltre"), horizontal=True, unite="€/(m³/an)",
                                  hauteur=max(320, 40 * len(tri) + 80)),
                preparer_tableau(tri, ["type_site", "cout_par_m3_infiltre", "cout_total_ht", "volume_infiltre"]),
                "cout_par_m3_par_type", "Lecture : coût HT pour chaque m³ de pluie retenu en plus chaque année "
                "(infiltré ou évapotranspiré).",
                "efficacite_m3")

with onglet_sdage:
    cible = cible_sdage_pourcent(parametres["ratio_sdage_cible"])
    donnees = communes[communes["territoire"] != CODE_BASSIN]
    bassin = communes.set_index("territoire").loc[CODE_BASSIN, "ratio_compensation_sdage"]
    commun.afficher_graphique(
        construire_figure(figure_ratio_sdage, donnees[["nom", "ratio_compensation_sdage"]], cible,
                          titre_axe("ratio_compensation_sdage")),
        preparer_tableau(donnees, ["territoire", "nom", "surface_desimpermeabilisee",
                                   "nouvelles_surfaces_impermeabilisees", "ratio_compensation_sdage"]),
        "ratio_sdage_par_commune",
        f"Lecture : m² désimperméabilisés pour 100 m² nouvellement imperméabilisés (en %) ; la ligne rouge "
        f"marque la cible du SDAGE ({formater_valeur('ratio_compensation_sdage', cible)}). {perimetre.lieu} : "
        f"{formater_valeur('ratio_compensation_sdage', bassin)}.", "sdage")

st.subheader("Rapports PDF")
commun.proposer_rapport("bassin", filtres, cle="rapport_indicateurs")
if details and not perimetre.filtres.communes:  # aides de tout le bassin : rapport d'un financeur
    commun.proposer_rapport("financeur", filtres, cle="rapport_financeur")
st.subheader("Tableau des opérations retenues")
tableau = preparer_tableau(par_operation, commun.COLONNES_EXPORT)
commun.afficher_tableau(tableau, hauteur=320)
boutons = st.columns(4)
for bouton, (libelle_bouton, format_fichier) in zip(boutons, [("CSV (Excel)", "csv"), ("XLSX", "xlsx"),
                                                             ("GeoJSON", "geojson"), ("GeoPackage", "gpkg")]):
    bouton.download_button(libelle_bouton, commun.exporter_operations(filtres, format_fichier),
                           f"operations.{format_fichier}", mime=commun.TYPES_MIME[format_fichier],
                           icon=":material/download:", on_click="ignore")
