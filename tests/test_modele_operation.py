"""L'opération déclarée une fois : ce qui en dérive (libellés, masquage, import, colonnes SQL, messages)."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from donnees import modele_operation as modele
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
                             "financements (500 €) dépasse le coût HT (100 €)", "financements"),
    ({"typo": 1, "statut": "fini"}, "Opération, champ « typo » (typo) : champ inconnu", "typo"),
])
def test_messages_traduits(modifications, debut, champ):
    with pytest.raises(ErreurDonnees) as erreur:
        modele.verifier_operation(_saisie(**modifications))
    assert str(erreur.value).startswith(debut)
    assert erreur.value.colonne == champ and erreur.value.couche == "operation"
