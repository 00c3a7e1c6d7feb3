"""L'opération déclarée une fois : ce qui en dérive (libellés, masquage, import, colonnes SQL, messages)."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from donnees import modele_operation as modele
from donnees.format import formater_montant
from donnees.erreurs import ErreurDonnees


def _saisie(**modifications) -> dict:
    operation = {
        "code_insee": "34301", "nom": "Cour d'école", "type_site": "cour_ecole", "statut": "realisee",
        "date_fin_travaux": "2023-06-30", "cout_ht_eur": 1000.0,
        "zones": [{"geometrie": box(3.69, 43.40, 3.6905, 43.4005), "revetement_avant": "enrobe",
                   "revetement_apres": "pelouse"}],
        "financements": [{"financeur": "Région", "montant_eur": 500.0}],
    }
    operation.update(modifications)
    return operation


def test_chaque_champ_a_un_libelle_francais():
    libelles = modele.libelles()
    for modele_pydantic in (modele.Operation, modele.Zone, modele.Financement, modele.Photo):
        for nom in modele_pydantic.model_fields:
            assert libelles[nom].strip(), nom
    assert libelles["retour_experience"] == "retour d'expérience"
    assert modele.libelle("cout_ht_eur") == "coût HT (€)"
    assert modele.libelle_colonne("date_fin_travaux") == "Date de fin des travaux"
    assert modele.libelle("inconnu") == "inconnu"


def test_masquage_public_derive_de_la_declaration():
    assert set(modele.colonnes_masquees_public()) == {
        "contact", "cree_par", "modifie_par", "cout_ht_eur", "montant_aides_eur", "commentaire_validation",
        "parcelles"}


def test_colonnes_import_et_synonymes():
    colonnes = modele.champs_import()
    assert list(colonnes)[0] == "cle_operation"
    assert {"code_insee", "nom", "type_site", "statut", "geometrie_wkt", "parcelles", "revetement_avant",
            "revetement_apres", "financements", "annee"} <= set(colonnes)
    for nom, champ in colonnes.items():
        assert nom in champ.synonymes, f"{nom} : son propre nom doit être reconnu à l'import"
    # Un synonyme ne désigne qu'un champ, sauf ceux que la correspondance départage (id, email…).
    vus: dict[str, str] = {}
    for nom, champ in colonnes.items():
        for synonyme in champ.synonymes:
            assert synonyme not in vus or synonyme in ("id",), (synonyme, vus.get(synonyme), nom)
            vus[synonyme] = nom


def test_colonnes_sql_egales_a_la_table():
    from donnees.magasin import table_operation

    for colonne in modele.colonnes_sql():
        reelle = table_operation.c[colonne.name]
        assert type(colonne.type) is type(reelle.type), colonne.name
        assert colonne.nullable == reelle.nullable, colonne.name
        assert getattr(colonne.type, "length", None) == getattr(reelle.type, "length", None), colonne.name


def test_verification_nettoie():
    propre = modele.verifier_operation(_saisie(arbres_plantes=3.0, parcelles=["34301000ab0123"], id=7,
                                               version=2))
    assert propre["arbres_plantes"] == 3 and propre["validation"] == "a_valider"
    assert propre["parcelles"] == ["34301000AB0123"]
    assert list(propre)[:2] == ["code_insee", "nom"] and "id" not in propre


@pytest.mark.parametrize(("modifications", "debut", "champ"), [
    ({"statut": "fini"}, "Opération, champ « statut » (statut) : valeur « fini » inconnue", "statut"),
    ({"zones": [{"geometrie": box(0, 0, 1, 1), "revetement_avant": "enrobe", "revetement_apres": "x"}]},
     "Opération, zone n° 1, champ « revêtement après travaux » (revetement_apres)", "revetement_apres"),
    ({"zones": ["pas une zone"]}, "Opération, zone n° 1, champ « zones » (zones) : dictionnaire attendu",
     "zones"),
    ({"financements": [{"financeur": "Région", "montant_eur": 500.0, "taux": 1}]},
     "Opération, financement n° 1, champ « taux » (taux) : clé inconnue", "taux"),
    ({"cout_ht_eur": 100.0}, "Opération, champ « financements » (financements) : le total des "
                             f"financements ({formater_montant(500)}) dépasse le coût HT ({formater_montant(100)})",
     "financements"),
    ({"typo": 1, "statut": "fini"}, "Opération, champ « typo » (typo) : champ inconnu", "typo"),
])
def test_messages_traduits(modifications, debut, champ):
    with pytest.raises(ErreurDonnees) as erreur:
        modele.verifier_operation(_saisie(**modifications))
    assert str(erreur.value).startswith(debut)
    assert erreur.value.colonne == champ and erreur.value.couche == "operation"


# ----------------------------------------------- démonstration : un champ ajouté traverse tout
# surface_vegetalisee_m2 : une ligne dans Operation, la révision Alembic 0002 et sa place dans le formulaire ;
# rien d'autre n'a été écrit pour lui dans le magasin, l'import, le modèle XLSX, l'export ni l'historique.

NOUVEAU, LIBELLE_NOUVEAU = "surface_vegetalisee_m2", "Surface végétalisée (m²)"


def test_champ_ajoute_declare_une_fois():
    assert modele.libelle_colonne(NOUVEAU) == modele.libelle_saisie(NOUVEAU) == LIBELLE_NOUVEAU
    assert NOUVEAU in modele.CHAMPS_SCALAIRES and NOUVEAU not in modele.colonnes_masquees_public()
    assert NOUVEAU in {c.name for c in modele.colonnes_sql()} and NOUVEAU in modele.champs_exportes()
    assert modele.verifier_operation(_saisie(**{NOUVEAU: 600}))[NOUVEAU] == 600.0
    assert modele.verifier_operation(_saisie())[NOUVEAU] is None
    with pytest.raises(ErreurDonnees, match=r"champ « surface végétalisée \(m²\) » \(surface_vegetalisee_m2\) : "
                                            r"-3 est négatif"):
        modele.verifier_operation(_saisie(**{NOUVEAU: -3}))


@pytest.fixture
def magasin(tmp_path):
    from donnees.magasin import Magasin

    m = Magasin(f"sqlite:///{(tmp_path / 'm.sqlite').as_posix()}")
    m.creer_tables()
    yield m
    m.fermer()


def test_champ_ajoute_ecrit_relu_et_nomme_dans_l_historique(magasin):
    ident = magasin.creer_operation(_saisie(**{NOUVEAU: 640.0}), "a@b.fr")
    assert magasin.lire_operation(ident)[NOUVEAU] == 640.0
    assert magasin.lire_operations().set_index("id").loc[ident, NOUVEAU] == 640.0
    magasin.modifier_operation(ident, 1, {NOUVEAU: 700.0}, "a@b.fr")
    journal = magasin.lire_journal(ident)
    assert journal.iloc[-1]["diff"] == {NOUVEAU: [640.0, 700.0]}
    assert modele.resumer_changements(journal.iloc[-1]["diff"]) == LIBELLE_NOUVEAU
    assert modele.resumer_changements('{"cout_ht_eur": [1, 2], "nom": ["a", "b"]}') == "Coût HT (€), Nom"


@pytest.mark.parametrize("entete", [LIBELLE_NOUVEAU, "surface_verte", "Surface végétalisée"])
def test_champ_ajoute_reconnu_a_l_import(magasin, entete):
    from donnees.import_operations import importer, lire_fichier, preparer_import, proposer_correspondance

    texte = ("nom,code_insee,type_site,statut,date_fin_travaux,revetement_avant,revetement_apres,wkt,"
             f"{entete}\nCour,34301,cour_ecole,realisee,2023-09-15,enrobe,pelouse,"
             "\"POLYGON((3.69 43.40, 3.6905 43.40, 3.6905 43.4005, 3.69 43.4005, 3.69 43.40))\",580\n")
    table = lire_fichier(texte.encode("utf-8"), "operations.csv")
    correspondance = proposer_correspondance(table)
    assert correspondance[NOUVEAU] == entete
    apercu = preparer_import(table, correspondance)
    assert apercu.nb_erreurs == 0, apercu.erreurs["message"].tolist()
    rapport = importer(apercu, magasin, "a@b.fr")
    assert magasin.lire_operation(rapport.identifiants[0])[NOUVEAU] == 580.0


def test_champ_ajoute_dans_le_modele_xlsx():
    import io

    import openpyxl

    from donnees.import_operations import generer_modele_xlsx

    classeur = openpyxl.load_workbook(io.BytesIO(generer_modele_xlsx()))
    entetes = [c.value for c in classeur["opérations"][1]]
    assert entetes[-1] == LIBELLE_NOUVEAU and entetes[:2] == ["Clé opération", "Code INSEE"]
    assert "Surface végétalisée après travaux" in classeur["opérations"].cell(1, len(entetes)).comment.text
    aide = [ligne for ligne in classeur["aide"].iter_rows(values_only=True) if ligne[0] == LIBELLE_NOUVEAU]
    assert aide and aide[0][1:5] == ("opérations", "non", modele.declaration(modele.Operation, NOUVEAU).aide, "600")


def test_champ_ajoute_dans_l_export_csv(magasin):
    from indicateurs.calcul import calculer_indicateurs_operations
    from services.exports import COLONNES_EXPORT, exporter_operations

    magasin.creer_operation(_saisie(**{NOUVEAU: 640.0}), "a@b.fr")
    operations, zones = magasin.lire_operations(), magasin.lire_zones()
    par_operation = calculer_indicateurs_operations(operations, zones, magasin.lire_financements())
    lignes = exporter_operations(par_operation, operations, "csv").decode("utf-8-sig").splitlines()
    entetes = lignes[0].split(";")
    assert entetes[-1] == LIBELLE_NOUVEAU and len(entetes) == len(COLONNES_EXPORT) + 1
    assert lignes[1].split(";")[-1] == "640,0"
    # sans les opérations (appel historique), les colonnes d'avant, inchangées
    assert len(exporter_operations(par_operation, None, "csv").decode("utf-8-sig").splitlines()[0].split(";")) \
        == len(COLONNES_EXPORT)
