"""Photos : vraies images seulement, 10 Mo au plus, métadonnées retirées."""

import io

import pytest
from PIL import Image

from donnees.photos import enregistrer_photo, nettoyer_photo
from donnees.erreurs import ErreurDonnees


def image_avec_exif(format_image: str = "JPEG") -> bytes:
    image = Image.new("RGB", (40, 30), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "Appareil secret"  # Make
    tampon = io.BytesIO()
    image.save(tampon, format=format_image, exif=exif.tobytes())
    return tampon.getvalue()


def test_jpeg_nettoye_de_ses_metadonnees(tmp_path):
    octets = image_avec_exif()
    assert b"Appareil secret" in octets
    propres, extension = nettoyer_photo(octets, "cour.JPG")
    assert extension == ".jpg" and b"Appareil secret" not in propres
    with Image.open(io.BytesIO(propres)) as image:
        assert image.size == (40, 30) and not image.getexif()
    chemin = enregistrer_photo(octets, "cour.jpg", tmp_path)
    assert chemin.startswith("photos/") and (tmp_path / chemin).exists()


def test_png_accepte():
    propres, extension = nettoyer_photo(image_avec_exif("PNG"), "plan.png")
    assert extension == ".png" and propres.startswith(b"\x89PNG")


@pytest.mark.parametrize("octets, nom, extrait", [
    (b"pas une image", "faux.jpg", r"« faux\.jpg » : ce n'est pas une image lisible \(fichier abîmé"),
    (b"x" * 10, "document.pdf", "extension"),
    (b"x" * (11 * 1024 * 1024), "grosse.jpg",
     "« grosse\\.jpg » : 11\u202f534\u202f336\u202foctets, soit plus que le maximum de 10\u202fMo"),
])
def test_photos_refusees(octets, nom, extrait):
    with pytest.raises(ErreurDonnees, match=extrait):
        nettoyer_photo(octets, nom)


def test_gif_deguise_en_jpeg_refuse():
    tampon = io.BytesIO()
    Image.new("RGB", (5, 5)).save(tampon, format="GIF")
    with pytest.raises(ErreurDonnees, match="pas une image JPEG ou PNG"):
        nettoyer_photo(tampon.getvalue(), "deguise.jpg")


def test_message_d_image_illisible_sans_detail_anglais():
    with pytest.raises(ErreurDonnees) as erreur:
        nettoyer_photo(b"\x89PNG\r\n\x1a\n tronque", "coupee.png")
    assert "BytesIO" not in str(erreur.value) and "cannot" not in str(erreur.value)


def test_photo_de_telephone_redressee_selon_l_orientation_exif():
    """Orientation EXIF 6 (appareil tourné d'un quart de tour) : l'image stockée est droite, sans EXIF."""
    image = Image.new("RGB", (40, 20), "white")
    image.paste((255, 0, 0), (0, 0, 10, 20))  # bande rouge à gauche des pixels bruts
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation : à tourner de 90° dans le sens horaire pour l'afficher
    tampon = io.BytesIO()
    image.save(tampon, format="JPEG", exif=exif.tobytes(), quality=95)
    propres, _ = nettoyer_photo(tampon.getvalue(), "telephone.jpg")
    with Image.open(io.BytesIO(propres)) as stockee:
        assert stockee.size == (20, 40) and not stockee.getexif()
        rouge, vert, bleu = stockee.convert("RGB").getpixel((10, 2))  # bande rouge désormais en haut
        assert rouge > 200 and vert < 60 and bleu < 60
        assert stockee.convert("RGB").getpixel((10, 37)) == pytest.approx((255, 255, 255), abs=20)
